//! A small mutation fuzzer on stable Rust, for the readers of untrusted input (calendar text,
//! WebDAV XML, Google and Microsoft JSON, the config): start from real-world seeds and the corpus in
//! `tests/fuzz/<target>/`, mutate with a seeded `fastrand` (the same run every time unless
//! `NEXTSTEP_FUZZ_SEED` says otherwise), and for every input check the promises a reader makes:
//!
//! - no panic: each input runs under `catch_unwind`; a panic fails the test and saves the input to
//!   `target/fuzz-failures/<target>-<n>.bin` so it can join the corpus once fixed;
//! - no hang: a watchdog fails the test when one input runs longer than [`PER_INPUT_LIMIT`];
//! - bounded memory: the process's peak resident size stays under [`PEAK_MEMORY_LIMIT`] (checked
//!   under nextest, which runs each test in its own process; `cargo test` shares one process
//!   between tests, so there the figure is printed but not asserted).
//!
//! `NEXTSTEP_FUZZ_SECS` (default 5) is the mutation time per target after the corpus; every run
//! prints one line per target: executions, time, peak memory and the slowest input.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest one input may take. The readers cap their work (occurrences per calendar, attendees
/// per event, bytes per response); the worst corpus cases (200 `FREQ=SECONDLY` series, 100,000
/// attendees) take a few seconds in a debug build, so this is a hang detector, not a benchmark.
pub const PER_INPUT_LIMIT: Duration = Duration::from_secs(30);

/// Peak resident memory of a fuzzing process (MiB). The largest generated input is about 5 MB of
/// text; the reader's own caps keep what it builds from that within a small multiple.
pub const PEAK_MEMORY_LIMIT: u64 = 512;

/// The largest mutated input: bigger inputs come from the generated `big` cases, which the
/// mutations leave alone.
const MAX_MUTANT: usize = 1 << 20;

/// A mutation strategy: from one input (and the other seeds, to splice from) to a new input.
pub type Mutate = fn(&mut fastrand::Rng, &[u8], &[Vec<u8>]) -> Vec<u8>;

/// What one target's run did.
#[derive(Debug)]
pub struct Stats {
    pub executions: u64,
    pub elapsed: Duration,
    pub slowest: Duration,
    pub peak_mib: Option<u64>,
}

/// The seconds of mutation per target (`NEXTSTEP_FUZZ_SECS`, default 5).
pub fn budget() -> Duration {
    let secs = std::env::var("NEXTSTEP_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(5.0);
    Duration::from_secs_f64(secs.max(0.0))
}

fn seed() -> u64 {
    std::env::var("NEXTSTEP_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6e65_7874_7374_6570) // "nextstep"
}

/// Every file in `tests/fuzz/<target>/`, sorted by name.
pub fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz")
        .join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read the corpus {}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).expect("corpus file"))
        .collect()
}

/// Runs `check` on every seed and every `big` case as they are, then on mutations of the seeds
/// (not of the big cases: mutating megabytes costs more than it finds) until the budget is spent;
/// panics (failing the test) on the first input that panics, hangs or when memory is over the
/// limit.
pub fn fuzz(
    target: &str,
    seeds: Vec<Vec<u8>>,
    big: Vec<Vec<u8>>,
    mutate: Mutate,
    check: fn(&[u8]),
) -> Stats {
    assert!(!seeds.is_empty(), "{target}: no seeds");
    let budget = budget();
    let current: Arc<Mutex<Vec<u8>>> = Arc::default();
    let (beat, beats) = mpsc::channel::<Result<Duration, String>>();
    let worker_current = Arc::clone(&current);
    let worker_target = target.to_string();
    let started = Instant::now();
    let worker = std::thread::spawn(move || {
        let mut rng = fastrand::Rng::with_seed(seed());
        let run_one = |input: Vec<u8>| -> Result<Duration, String> {
            *worker_current.lock().unwrap_or_else(|e| e.into_inner()) = input.clone();
            let t = Instant::now();
            match catch_unwind(AssertUnwindSafe(|| check(&input))) {
                Ok(()) => Ok(t.elapsed()),
                Err(p) => {
                    let why = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    Err(format!(
                        "{worker_target}: panicked ({why}); input saved to {}",
                        save_failure(&worker_target, &input).display()
                    ))
                }
            }
        };
        for s in seeds.iter().chain(&big) {
            let r = run_one(s.clone());
            let failed = r.is_err();
            if beat.send(r).is_err() || failed {
                return;
            }
        }
        let start = Instant::now();
        while start.elapsed() < budget {
            let base = &seeds[rng.usize(..seeds.len())];
            let mut input = mutate(&mut rng, base, &seeds);
            // Stack a few mutations now and then: one change rarely gets far past a parser's
            // first check.
            for _ in 0..rng.usize(0..3) {
                input = mutate(&mut rng, &input, &seeds);
                // Repeating a long line of a repeated long line grows geometrically.
                input.truncate(MAX_MUTANT);
            }
            input.truncate(MAX_MUTANT);
            let r = run_one(input);
            let failed = r.is_err();
            if beat.send(r).is_err() || failed {
                return;
            }
        }
    });
    let mut executions = 0u64;
    let mut slowest = Duration::ZERO;
    loop {
        match beats.recv_timeout(PER_INPUT_LIMIT) {
            Ok(Ok(took)) => {
                executions += 1;
                slowest = slowest.max(took);
            }
            Ok(Err(why)) => panic!("{why}"),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let input = current.lock().unwrap_or_else(|e| e.into_inner()).clone();
                panic!(
                    "{target}: one input ran longer than {PER_INPUT_LIMIT:?}; saved to {}",
                    save_failure(target, &input).display()
                );
            }
        }
    }
    worker.join().expect("the fuzzing thread ends");
    let stats = Stats {
        executions,
        elapsed: started.elapsed(),
        slowest,
        peak_mib: peak_mib(),
    };
    println!(
        "fuzz {target}: {} executions in {:.1} s, slowest input {} ms, peak resident {} MiB",
        stats.executions,
        stats.elapsed.as_secs_f64(),
        stats.slowest.as_millis(),
        stats
            .peak_mib
            .map_or_else(|| "?".to_string(), |m| m.to_string()),
    );
    if std::env::var("NEXTEST_EXECUTION_MODE").as_deref() == Ok("process-per-test")
        && let Some(peak) = stats.peak_mib
    {
        assert!(
            peak < PEAK_MEMORY_LIMIT,
            "{target}: peak resident memory {peak} MiB, over the {PEAK_MEMORY_LIMIT} MiB limit"
        );
    }
    stats
}

fn save_failure(target: &str, input: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{target}-{:016x}.bin", fxhash(input)));
    let _ = std::fs::write(&path, input);
    path
}

fn fxhash(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3)
    })
}

/// `VmHWM` of this process, in MiB (Linux).
fn peak_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

// ---- Mutations -----------------------------------------------------------------------------

/// Bytes that break readers: invalid UTF-8, lone surrogates' encodings, NUL, CR without LF.
const NASTY_BYTES: [&[u8]; 8] = [
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\0",
    b"\r",
    b"\n",
    b"\xef\xbb\xbf",
    b"\xf4\x90\x80\x80",
];

/// One byte-level change: flip, insert, delete, duplicate, truncate or splice.
pub fn bytes(rng: &mut fastrand::Rng, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    let at = |rng: &mut fastrand::Rng, len: usize| rng.usize(..=len);
    match rng.u8(..7) {
        0 if !out.is_empty() => {
            let i = rng.usize(..out.len());
            out[i] ^= 1 << rng.u8(..8);
        }
        1 => {
            let i = at(rng, out.len());
            let nasty = NASTY_BYTES[rng.usize(..NASTY_BYTES.len())];
            out.splice(i..i, nasty.iter().copied());
        }
        2 if !out.is_empty() => {
            let a = rng.usize(..out.len());
            let b = (a + rng.usize(..64)).min(out.len());
            out.drain(a..b);
        }
        3 if !out.is_empty() => {
            let a = rng.usize(..out.len());
            let b = (a + rng.usize(1..256)).min(out.len());
            let piece = out[a..b].to_vec();
            let times = rng.usize(1..8);
            for _ in 0..times {
                out.splice(a..a, piece.iter().copied());
            }
        }
        4 => out.truncate(at(rng, out.len())),
        5 => {
            let other = &seeds[rng.usize(..seeds.len())];
            if !other.is_empty() {
                let a = rng.usize(..other.len());
                let b = (a + rng.usize(1..512)).min(other.len());
                let i = at(rng, out.len());
                out.splice(i..i, other[a..b].iter().copied());
            }
        }
        _ => {
            let i = at(rng, out.len());
            out.insert(i, rng.u8(..));
        }
    }
    out
}

/// Splits into lines, keeping each line's end.
fn lines(input: &[u8]) -> Vec<Vec<u8>> {
    input
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// One line-level change for line formats (iCalendar, TOML): drop, repeat, swap or replace a
/// line, give a `name:value` or `name = value` line a nasty value, or insert a nasty line.
/// `values` are the nasty values, `nasty_lines` whole lines; `sep` is the name/value separator.
pub fn line_based(
    rng: &mut fastrand::Rng,
    input: &[u8],
    seeds: &[Vec<u8>],
    sep: u8,
    values: &[&str],
    nasty_lines: &[&str],
) -> Vec<u8> {
    let mut ls = lines(input);
    if ls.is_empty() || rng.u8(..8) == 0 {
        return bytes(rng, input, seeds);
    }
    let i = rng.usize(..ls.len());
    match rng.u8(..7) {
        0 => {
            ls.remove(i);
        }
        1 => {
            let times = if rng.bool() {
                rng.usize(1..4)
            } else {
                rng.usize(1..200)
            };
            let l = ls[i].clone();
            let times = times.min(MAX_MUTANT / l.len().max(1));
            for _ in 0..times {
                ls.insert(i, l.clone());
            }
        }
        2 => {
            let j = rng.usize(..ls.len());
            ls.swap(i, j);
        }
        3 | 4 => {
            let l = &ls[i];
            if let Some(p) = l.iter().position(|&b| b == sep) {
                let v = values[rng.usize(..values.len())];
                let mut n = l[..=p].to_vec();
                if sep == b'=' {
                    n.push(b' ');
                }
                n.extend_from_slice(v.as_bytes());
                n.push(b'\n');
                ls[i] = n;
            }
        }
        5 => {
            let mut l = nasty_lines[rng.usize(..nasty_lines.len())]
                .as_bytes()
                .to_vec();
            l.push(b'\n');
            ls.insert(i, l);
        }
        _ => {
            let other = lines(&seeds[rng.usize(..seeds.len())]);
            if !other.is_empty() {
                let l = other[rng.usize(..other.len())].clone();
                ls.insert(i, l);
            }
        }
    }
    ls.concat()
}

/// One change to a JSON document's tree (a value replaced by a nasty one, an array element
/// repeated, a key dropped), or a byte-level change when the input is not JSON.
pub fn json(rng: &mut fastrand::Rng, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(input) else {
        return bytes(rng, input, seeds);
    };
    if rng.u8(..6) == 0 {
        return bytes(rng, input, seeds);
    }
    let mut nodes = 0usize;
    count(&v, &mut nodes);
    let target = rng.usize(..nodes.max(1));
    let mut seen = 0usize;
    mutate_node(rng, &mut v, target, &mut seen);
    serde_json::to_vec(&v).expect("a Value serialises")
}

fn count(v: &serde_json::Value, n: &mut usize) {
    *n += 1;
    match v {
        serde_json::Value::Array(a) => a.iter().for_each(|x| count(x, n)),
        serde_json::Value::Object(o) => o.values().for_each(|x| count(x, n)),
        _ => {}
    }
}

fn nasty_json(rng: &mut fastrand::Rng) -> serde_json::Value {
    use serde_json::json;
    let pick = [
        json!(null),
        json!(true),
        json!(-1),
        json!(u64::MAX),
        json!(1e308),
        json!(""),
        json!("x".repeat(rng.usize(1..10_000))),
        json!("9999-12-31T23:59:59Z"),
        json!("0000-01-01T00:00:00"),
        json!("2026-13-45T25:61:61+99:99"),
        json!("+275760-09-13T00:00:00Z"),
        json!("2026-12-01"),
        json!("Not/A_Zone"),
        json!("Pacific Standard Time"),
        json!("cancelled"),
        json!("RRULE:FREQ=SECONDLY"),
        json!([]),
        json!({}),
        json!({"dateTime": "2026-12-01T10:00:00", "timeZone": "Europe/Berlin"}),
        json!({"date": "2026-12-01"}),
        json!("\u{0}\u{202e}\u{fffd}"),
    ];
    pick[rng.usize(..pick.len())].clone()
}

fn mutate_node(
    rng: &mut fastrand::Rng,
    v: &mut serde_json::Value,
    target: usize,
    seen: &mut usize,
) -> bool {
    if *seen == target {
        match v {
            serde_json::Value::Array(a) if !a.is_empty() && rng.bool() => {
                let i = rng.usize(..a.len());
                if rng.bool() {
                    let el = a[i].clone();
                    let times = if rng.u8(..8) == 0 {
                        rng.usize(100..5_000)
                    } else {
                        rng.usize(1..5)
                    };
                    let size = serde_json::to_vec(&el).map_or(1, |v| v.len().max(1));
                    let times = times.min(MAX_MUTANT / size);
                    for _ in 0..times {
                        a.push(el.clone());
                    }
                } else {
                    a.remove(i);
                }
            }
            serde_json::Value::Object(o) if !o.is_empty() && rng.bool() => {
                let k = o.keys().nth(rng.usize(..o.len())).cloned().expect("a key");
                if rng.bool() {
                    o.remove(&k);
                } else {
                    o.insert(k, nasty_json(rng));
                }
            }
            _ => *v = nasty_json(rng),
        }
        return true;
    }
    *seen += 1;
    match v {
        serde_json::Value::Array(a) => a.iter_mut().any(|x| mutate_node(rng, x, target, seen)),
        serde_json::Value::Object(o) => o.values_mut().any(|x| mutate_node(rng, x, target, seen)),
        _ => false,
    }
}

/// One change to an XML document at its tags: an element's text replaced, a tag dropped or
/// repeated, a nasty snippet inserted between tags; else a byte-level change.
pub fn xml(rng: &mut fastrand::Rng, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    const SNIPPETS: [&str; 9] = [
        "<!DOCTYPE d [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>",
        "&b;",
        "<![CDATA[BEGIN:VCALENDAR\r\nEND:VCALENDAR]]>",
        "<d:href>../../../etc/passwd</d:href>",
        "<d:status>HTTP/1.1 999 Whatever</d:status>",
        "<d:status>HTTP/1.1</d:status>",
        "<x:unknown xmlns:x=\"urn:x\">text</x:unknown>",
        "<d:response><d:href>%zz%</d:href></d:response>",
        "&#0;&#xD800;&#1114112;",
    ];
    let tags: Vec<usize> = input
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'<')
        .map(|(i, _)| i)
        .collect();
    if tags.len() < 2 || rng.u8(..4) == 0 {
        return bytes(rng, input, seeds);
    }
    let k = rng.usize(..tags.len() - 1);
    let (a, b) = (tags[k], tags[k + 1]);
    let mut out = input.to_vec();
    match rng.u8(..5) {
        0 => {
            out.drain(a..b);
        }
        1 => {
            let piece = out[a..b].to_vec();
            let times = if rng.u8(..8) == 0 {
                rng.usize(100..3_000)
            } else {
                rng.usize(1..4)
            };
            let times = times.min(MAX_MUTANT / piece.len().max(1));
            for _ in 0..times {
                out.splice(a..a, piece.iter().copied());
            }
        }
        2 => {
            let s = SNIPPETS[rng.usize(..SNIPPETS.len())];
            out.splice(b..b, s.bytes());
        }
        3 => {
            // The text after a tag: replace it.
            if let Some(end) = out[a..b].iter().position(|&x| x == b'>') {
                let from = a + end + 1;
                let v = [
                    "",
                    " ",
                    "x".repeat(5000).as_str(),
                    "\"etag\"",
                    "HTTP/1.1 404 Not Found",
                ][rng.usize(..5)]
                .to_string();
                out.splice(from..b, v.bytes());
            }
        }
        _ => {
            // Deep nesting.
            let depth = rng.usize(10..2_000);
            let open = "<d:prop>".repeat(depth);
            out.splice(b..b, open.bytes());
        }
    }
    out
}
