//! `application/x-www-form-urlencoded` bodies (`curl --data P=V`):
//! `&`-separated `name=value` pairs, `+` for a space, `%XX` for a byte.
//! Malformed escapes are kept as written, never a panic.

/// The pairs of a form body, in order (a later name wins when collected).
pub fn parse(body: &[u8]) -> Vec<(String, String)> {
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            (decode(name), decode(value))
        })
        .collect()
}

fn decode(text: &[u8]) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_decoded_and_bad_escapes_kept() {
        assert_eq!(
            parse(b"BRANCH=feature%2Fx+y&EMPTY=&FLAG&BAD=%zz%4"),
            vec![
                ("BRANCH".into(), "feature/x y".into()),
                ("EMPTY".into(), String::new()),
                ("FLAG".into(), String::new()),
                ("BAD".into(), "%zz%4".into()),
            ]
        );
        assert!(parse(b"").is_empty());
    }
}
