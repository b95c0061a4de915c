//! Headless Chromium for tests of the pages the mock master and the
//! reference frameworks serve: it loads a page, lets its scripts run on
//! Chromium's virtual clock, and hands back the DOM they rendered (or a
//! screenshot), so a test checks what a person would see, not the HTML
//! that was sent.
//!
//! It runs Debian's `chromium` package ([`CHROMIUM`]), which CI installs;
//! tests that need it are `#[ignore]`d by default and run by `.ci/run`
//! with `--ignored`. Chromium is started with a fresh profile directory
//! and with its background networking off: this machine's network is
//! closed, and Chromium's own connections would otherwise be refused by
//! the dozen at every start.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

/// Where Debian's `chromium` package installs the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The flags every run gets: headless, no sandbox (CI runs as root), no
/// GPU, and nothing that reaches the network on its own.
const FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// What went wrong running the browser.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// [`CHROMIUM`] is not installed.
    #[error("{CHROMIUM} is missing: apt-get install chromium")]
    Missing,
    /// It could not be started.
    #[error("chromium could not be started")]
    Start(#[source] std::io::Error),
    /// It did not finish within the limit.
    #[error("chromium did not finish within {0:?}")]
    Timeout(Duration),
    /// It exited with a failure.
    #[error("chromium failed ({status})")]
    Failed {
        /// Its exit status.
        status: std::process::ExitStatus,
    },
}

/// One page, opened in headless Chromium.
#[derive(Clone, Debug)]
pub struct Page {
    url: String,
    profile: PathBuf,
    budget: Duration,
    limit: Duration,
}

impl Page {
    /// `url`, with Chromium's profile kept under `scratch` (a directory
    /// of the test's own; each run gets a new profile in it). The page's
    /// scripts get 4 s of Chromium's virtual time; the run, 60 s of real
    /// time.
    pub fn new(url: impl Into<String>, scratch: &Path) -> Page {
        Page {
            url: url.into(),
            profile: scratch.to_path_buf(),
            budget: Duration::from_secs(4),
            limit: Duration::from_secs(60),
        }
    }

    /// How much of Chromium's virtual time the page's scripts get before
    /// the DOM is read (`--virtual-time-budget`).
    pub fn script_time(mut self, budget: Duration) -> Page {
        self.budget = budget;
        self
    }

    /// The DOM as the page's scripts left it.
    pub async fn dom(&self) -> Result<String, BrowserError> {
        let stdout = self.run("dom", &["--dump-dom".to_owned()]).await?;
        Ok(String::from_utf8_lossy(&stdout).into_owned())
    }

    /// A PNG of the page at `width` × `height`, written to `path`.
    pub async fn screenshot(
        &self,
        path: &Path,
        width: u32,
        height: u32,
    ) -> Result<(), BrowserError> {
        self.run(
            "screenshot",
            &[
                format!("--screenshot={}", path.display()),
                format!("--window-size={width},{height}"),
                "--hide-scrollbars".to_owned(),
            ],
        )
        .await
        .map(drop)
    }

    async fn run(&self, what: &str, extra: &[String]) -> Result<Vec<u8>, BrowserError> {
        if !Path::new(CHROMIUM).exists() {
            return Err(BrowserError::Missing);
        }
        let profile = self.profile.join(format!("chromium-{what}"));
        let output = Command::new(CHROMIUM)
            .args(FLAGS)
            .arg(format!("--virtual-time-budget={}", self.budget.as_millis()))
            .args(extra)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(&self.url)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(self.limit, output)
            .await
            .map_err(|_| BrowserError::Timeout(self.limit))?
            .map_err(BrowserError::Start)?;
        if !output.status.success() {
            return Err(BrowserError::Failed {
                status: output.status,
            });
        }
        Ok(output.stdout)
    }
}
