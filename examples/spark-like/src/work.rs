//! What a batch task computes, wherever it runs: the [`Work`] a task is
//! sent and the [`Output`] it gives back (serialisable, for executors in
//! other processes), word counting (map: a text partition into one bucket
//! of counts per reducer; reduce: merge a bucket), the straightforward
//! single-process count the tests compare with, the generated text, and a
//! small seeded random generator for synthetic durations.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One task's work.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Work {
    /// A synthetic task: it runs for this many milliseconds.
    Sleep {
        /// Run time.
        ms: u64,
    },
    /// Count the words of a text partition, bucketed by reducer.
    Map {
        /// The partition's text.
        text: String,
        /// How many reducers read the shuffle.
        reducers: u32,
    },
    /// Sum the counts of one reducer's bucket from every map task.
    Reduce {
        /// (word, count) pairs, in any order, repeats allowed.
        pairs: Vec<(String, u64)>,
    },
}

/// What a task gives back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Output {
    /// A synthetic task ended.
    Done,
    /// A map task's shuffle output: one sorted bucket per reducer.
    Buckets(Vec<Vec<(String, u64)>>),
    /// A reduce task's result, sorted by word.
    Counts(Vec<(String, u64)>),
}

impl Work {
    /// How long the task takes on a simulated agent: synthetic tasks their
    /// own time, word count tasks in proportion to their data.
    pub fn simulated_duration(&self) -> Duration {
        match self {
            Work::Sleep { ms } => Duration::from_millis(*ms),
            Work::Map { text, .. } => Duration::from_millis(50 + text.len() as u64 / 1_000),
            Work::Reduce { pairs } => Duration::from_millis(30 + pairs.len() as u64 / 100),
        }
    }
}

/// The words of a text: maximal runs of alphanumeric characters, lowercased.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Which reducer a word goes to (FNV-1a, stable across processes).
pub fn reducer_of(word: &str, reducers: u32) -> usize {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in word.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    (h % u64::from(reducers.max(1))) as usize
}

/// Runs a task's work to its output (synthetic tasks compute nothing:
/// the caller waits their time).
pub fn compute(work: &Work) -> Output {
    match work {
        Work::Sleep { .. } => Output::Done,
        Work::Map { text, reducers } => {
            let mut buckets = vec![BTreeMap::<String, u64>::new(); (*reducers).max(1) as usize];
            for word in words(text) {
                let r = reducer_of(&word, *reducers);
                *buckets[r].entry(word).or_default() += 1;
            }
            Output::Buckets(
                buckets
                    .into_iter()
                    .map(|b| b.into_iter().collect())
                    .collect(),
            )
        }
        Work::Reduce { pairs } => {
            let mut counts = BTreeMap::<String, u64>::new();
            for (word, n) in pairs {
                *counts.entry(word.clone()).or_default() += n;
            }
            Output::Counts(counts.into_iter().collect())
        }
    }
}

/// The straightforward count, in one process, to check a job against.
pub fn count_in_one_process(text: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for word in words(text) {
        *counts.entry(word).or_default() += 1;
    }
    counts
}

/// Splits a text into `parts` partitions at whitespace, so no word is cut.
pub fn split_text(text: &str, parts: usize) -> Vec<String> {
    let parts = parts.max(1);
    let target = text.len() / parts + 1;
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    while start < text.len() && out.len() + 1 < parts {
        let mut end = (start + target).min(text.len());
        while end < text.len() && !text.is_char_boundary(end) {
            end += 1;
        }
        match text[end..].find(char::is_whitespace) {
            Some(ws) => end += ws,
            None => end = text.len(),
        }
        out.push(text[start..end].to_owned());
        start = end;
    }
    if start < text.len() || out.is_empty() {
        out.push(text[start..].to_owned());
    }
    out
}

/// A small seeded generator (splitmix64): the same seed, the same numbers.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e3779b97f4a7c15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const VOCABULARY: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "had",
    "they",
    "you",
    "were",
    "their",
    "one",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "spark",
    "mesos",
    "offer",
    "task",
    "stage",
    "shuffle",
    "executor",
    "driver",
    "agent",
    "cluster",
    "batch",
    "partition",
    "reduce",
    "map",
    "count",
    "word",
    "job",
    "framework",
    "master",
    "resource",
    "cpu",
    "memory",
    "scheduler",
    "latency",
    "locality",
    "straggler",
    "speculation",
];

/// Generated text of about `bytes` bytes: words drawn with a skewed
/// (Zipf-like) frequency from a fixed vocabulary plus numbered rare words,
/// in lines of about 80 characters. The same seed gives the same text.
pub fn generate_text(bytes: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut text = String::with_capacity(bytes + 100);
    let mut line = 0;
    while text.len() < bytes {
        let u = rng.next_f64();
        let rank = ((VOCABULARY.len() as f64 + 1.0).powf(u) - 1.0) as usize;
        if rng.next_u64().is_multiple_of(50) {
            text.push_str(&format!("rare{}", rng.next_u64() % 5000));
        } else {
            text.push_str(VOCABULARY[rank.min(VOCABULARY.len() - 1)]);
        }
        line += 1;
        text.push(if line % 12 == 0 { '\n' } else { ' ' });
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_then_reduce_equals_the_one_process_count() {
        let text = generate_text(50_000, 3);
        let parts = split_text(&text, 7);
        assert_eq!(parts.concat(), text, "partitions cover the text exactly");
        let reducers = 3;
        let mut per_reducer = vec![Vec::new(); reducers];
        for part in &parts {
            let Output::Buckets(buckets) = compute(&Work::Map {
                text: part.clone(),
                reducers: reducers as u32,
            }) else {
                panic!("map gives buckets")
            };
            for (r, bucket) in buckets.into_iter().enumerate() {
                per_reducer[r].extend(bucket);
            }
        }
        let mut total = BTreeMap::new();
        for pairs in per_reducer {
            let Output::Counts(counts) = compute(&Work::Reduce { pairs }) else {
                panic!("reduce gives counts")
            };
            for (w, n) in counts {
                assert!(total.insert(w, n).is_none(), "a word in two reducers");
            }
        }
        assert_eq!(total, count_in_one_process(&text));
    }

    #[test]
    fn words_are_lowercased_alphanumeric_runs() {
        let w: Vec<String> = words("Hello, world! hello\tWORLD-42").collect();
        assert_eq!(w, ["hello", "world", "hello", "world", "42"]);
    }
}
