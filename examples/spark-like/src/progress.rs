//! What a person watches: one progress bar per stage on a terminal
//! (indicatif), plain lines when stdout is not one (a line when a stage
//! starts, at each quarter, and when it completes), nothing when hidden.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::Engine;

enum Mode {
    Hidden,
    Lines(Vec<usize>),
    Bars(MultiProgress, Vec<Option<ProgressBar>>),
}

/// Progress of a job's stages.
pub struct Progress {
    mode: Mode,
    names: Vec<String>,
}

impl Progress {
    /// Bars on a terminal, lines otherwise.
    pub fn for_stdout(names: Vec<String>) -> Progress {
        let mode = if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            Mode::Bars(
                MultiProgress::with_draw_target(ProgressDrawTarget::stdout()),
                vec![None; names.len()],
            )
        } else {
            Mode::Lines(vec![usize::MAX; names.len()])
        };
        Progress { mode, names }
    }

    /// Nothing shown (tests, comparisons).
    pub fn hidden() -> Progress {
        Progress {
            mode: Mode::Hidden,
            names: Vec::new(),
        }
    }

    /// Shows where each stage stands.
    pub fn update(&mut self, engine: &Engine) {
        let progress = engine.progress();
        match &mut self.mode {
            Mode::Hidden => {}
            Mode::Lines(last) => {
                for (s, &(done, total)) in progress.iter().enumerate() {
                    let quarter = done * 4 / total.max(1);
                    let started = done > 0 || engine.running_attempts().any(|_| true);
                    if !started || last[s] == quarter {
                        continue;
                    }
                    if last[s] == usize::MAX
                        && s > 0
                        && done == 0
                        && progress[s - 1].0 < progress[s - 1].1
                    {
                        continue;
                    }
                    last[s] = quarter;
                    let name = self.names.get(s).map_or("", String::as_str);
                    println!("stage {s} {name}: {done}/{total} tasks");
                }
            }
            Mode::Bars(multi, bars) => {
                for (s, &(done, total)) in progress.iter().enumerate() {
                    let ready = s == 0 || progress[s - 1].0 == progress[s - 1].1 || done > 0;
                    if !ready {
                        continue;
                    }
                    let bar = bars[s].get_or_insert_with(|| {
                        let bar = multi.add(ProgressBar::new(total as u64));
                        let style = ProgressStyle::with_template(
                            "{prefix:>10} [{bar:40}] {pos}/{len} tasks {msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> ");
                        bar.set_style(style);
                        bar.set_prefix(format!("stage {s}"));
                        bar.set_message(self.names.get(s).cloned().unwrap_or_default());
                        bar
                    });
                    bar.set_position(done as u64);
                    if done == total && !bar.is_finished() {
                        bar.finish();
                    }
                }
            }
        }
    }

    /// The job ended: last state shown.
    pub fn finish(&mut self, engine: &Engine) {
        self.update(engine);
        if let Mode::Bars(_, bars) = &self.mode {
            for bar in bars.iter().flatten() {
                if !bar.is_finished() {
                    bar.abandon();
                }
            }
        }
    }
}
