//! Kubernetes resource quantities (`500m`, `1.5`, `128Mi`, `1G`, `2e3`)
//! turned into the master's units: CPUs as cores, memory in megabytes
//! (MiB, as Mesos counts `mem`).
//!
//! Kubernetes writes a quantity as a number with an optional suffix:
//! binary (`Ki`, `Mi`, `Gi`, `Ti`, `Pi`, `Ei`), decimal (`n`, `u`, `m`,
//! `k`, `M`, `G`, `T`, `P`, `E`) or an exponent (`e3`, `E6`). The same
//! text means cores for `cpu` and bytes for `memory`.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// A quantity that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("quantity {text:?}: {why}")]
pub struct QuantityError {
    /// The text as written.
    pub text: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// The value of `quantity` as a plain number (cores for CPU, bytes for
/// memory). Refuses negative, non-finite and malformed values.
pub fn value(quantity: &Quantity) -> Result<f64, QuantityError> {
    let text = quantity.0.trim();
    let bad = |why| QuantityError {
        text: quantity.0.clone(),
        why,
    };
    if text.is_empty() {
        return Err(bad("empty"));
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| bad("not a number"))?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => {
            let power: i32 = exp[1..].parse().map_err(|_| bad("bad exponent"))?;
            10f64.powi(power)
        }
        _ => return Err(bad("unknown suffix")),
    };
    let value = number * factor;
    if !value.is_finite() {
        return Err(bad("not finite"));
    }
    if value < 0.0 {
        return Err(bad("negative"));
    }
    Ok(value)
}

/// `quantity` as CPU cores.
pub fn cpus(quantity: &Quantity) -> Result<f64, QuantityError> {
    value(quantity)
}

/// `quantity` (bytes) as megabytes (MiB), the unit of the master's `mem`.
pub fn mem_mb(quantity: &Quantity) -> Result<f64, QuantityError> {
    Ok(value(quantity)? / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Quantity {
        Quantity(text.to_owned())
    }

    #[test]
    fn cpu_forms() {
        assert_eq!(cpus(&q("500m")).unwrap(), 0.5);
        assert_eq!(cpus(&q("2")).unwrap(), 2.0);
        assert_eq!(cpus(&q("0.25")).unwrap(), 0.25);
    }

    #[test]
    fn memory_forms() {
        assert_eq!(mem_mb(&q("128Mi")).unwrap(), 128.0);
        assert_eq!(mem_mb(&q("1Gi")).unwrap(), 1024.0);
        assert_eq!(mem_mb(&q("1048576")).unwrap(), 1.0);
        assert!((mem_mb(&q("64M")).unwrap() - 61.035).abs() < 0.001);
        assert_eq!(value(&q("2e3")).unwrap(), 2000.0);
    }

    #[test]
    fn refusals() {
        for bad in ["", "abc", "-1", "5Xi", "1e", "1.2.3"] {
            assert!(value(&q(bad)).is_err(), "{bad:?} accepted");
        }
    }
}
