//! Fuzzes the server's push path — `SyncRequest::decode` → `merge_push`
//! (strict Automerge load, authority rules, save-and-load-back) — on stable
//! Rust, with mutated valid sync requests.
//!
//! ```text
//! bash scripts/fuzz.sh 600                      # what to run: release build, 600 s
//! cargo run --release -p wangge-sync-server --example fuzz_push -- [options]
//!   --seconds N       run for N seconds (default 60)
//!   --iterations N    stop after N inputs instead (whichever comes first)
//!   --seed S          PRNG seed (default: $FUZZ_SEED, else 1); same seed, same inputs
//!   --corpus DIR      seed corpus (default fuzz/corpus): stored/{case,zero_report}.bin
//!                     are the server's documents, push/*.bin valid requests
//!   --findings DIR    where findings go (default fuzz/findings); also replayed as seeds
//!   --write-corpus    generate fresh stored documents and valid requests into
//!                     --corpus (replaces it) and exit
//!   --trace FILE      write each input to FILE before running it: if the process
//!                     dies (abort, out of memory), FILE holds the input that killed it
//! ```
//!
//! Each input is one request body. Its pushes are merged against nothing
//! stored, the stored case, the stored zero report and a quarantined case,
//! and the invariants of `sync-server/tests/support/fuzz_check.rs` are
//! checked. A finding (an escaped panic, a broken invariant, an input taking
//! over 2 s) is saved as `<findings>/<sha>.bin` with a `.txt` beside it
//! and printed; `cargo test -p wangge-sync-server --test fuzz_regressions`
//! replays every saved finding. Inputs that take a new path (a new outcome
//! or refusal message) join the pool of inputs to mutate.
//!
//! Exit status: 0 without findings, 1 with findings, 2 on bad arguments.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/fuzz_check.rs"]
mod fuzz_check;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fuzz_check::{Counts, Fixture, Rng, mutate, read_dir_sorted, run_input, short_sha};

const POOL_CAP: usize = 4096;
const SLOW: Duration = Duration::from_secs(2);

struct Options {
    seconds: u64,
    iterations: Option<u64>,
    seed: u64,
    corpus: PathBuf,
    findings: PathBuf,
    write_corpus: bool,
    trace: Option<PathBuf>,
}

fn usage(why: &str) -> ! {
    eprintln!(
        "fuzz_push: {why}\nsee the header of sync-server/examples/fuzz_push.rs for the options"
    );
    std::process::exit(2)
}

fn options() -> Options {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut o = Options {
        seconds: 60,
        iterations: None,
        seed: std::env::var("FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1),
        corpus: root.join("fuzz/corpus"),
        findings: root.join("fuzz/findings"),
        write_corpus: false,
        trace: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| usage(&format!("{name} needs a value")))
        };
        let number = |name: &str, v: String| -> u64 {
            v.parse()
                .unwrap_or_else(|_| usage(&format!("{name} takes a number")))
        };
        match a.as_str() {
            "--seconds" => o.seconds = number("--seconds", value("--seconds")),
            "--iterations" => o.iterations = Some(number("--iterations", value("--iterations"))),
            "--seed" => o.seed = number("--seed", value("--seed")),
            "--corpus" => o.corpus = value("--corpus").into(),
            "--findings" => o.findings = value("--findings").into(),
            "--trace" => o.trace = Some(value("--trace").into()),
            "--write-corpus" => o.write_corpus = true,
            other => usage(&format!("unknown argument {other}")),
        }
    }
    o
}

fn main() {
    let o = options();
    if o.write_corpus {
        let fx = Fixture::generate();
        let _ = std::fs::remove_dir_all(o.corpus.join("push"));
        fx.write(&o.corpus).expect("write the corpus");
        // The seeds must be what they claim: every one merges somewhere.
        fuzz_check::install_quiet_panic_hook();
        for (name, bytes) in &fx.seeds {
            let r = run_input(&fx, bytes).unwrap_or_else(|f| panic!("seed {name}: {f}"));
            println!("wrote {name}.bin ({} bytes): {:?}", bytes.len(), r.outcomes);
        }
        println!("corpus written to {}", o.corpus.display());
        return;
    }

    let fx = match Fixture::load(&o.corpus) {
        Ok(fx) if !fx.seeds.is_empty() => fx,
        _ => {
            eprintln!(
                "no corpus at {} (run with --write-corpus); using freshly generated seeds",
                o.corpus.display()
            );
            Fixture::generate()
        }
    };
    let mut pool: Vec<Vec<u8>> = fx.seeds.iter().map(|(_, b)| b.clone()).collect();
    let seeds = pool.len();
    pool.extend(
        read_dir_sorted(&o.findings)
            .expect("read the findings folder")
            .into_iter()
            .map(|(_, b)| b),
    );
    fuzz_check::install_quiet_panic_hook();

    let mut counts = Counts::new();
    let mut features: HashSet<u64> = HashSet::new();
    let mut finding_kinds: Counts = Counts::new();
    let mut saved: HashSet<String> = HashSet::new();
    let mut contained_panics = 0u64;
    let mut inputs = 0u64;
    let mut slowest = (Duration::ZERO, String::new());
    let mut bytes_total = 0u64;

    // The seeds and saved findings first, as they are.
    let initial: Vec<Vec<u8>> = pool.clone();
    let mut rng = Rng::new(o.seed);
    let start = Instant::now();
    let deadline = Duration::from_secs(o.seconds);
    let mut next_report = Duration::from_secs(10);
    println!(
        "fuzz_push: seed {}, {} seconds, {seeds} seeds + {} saved findings from {}",
        o.seed,
        o.seconds,
        pool.len() - seeds,
        o.corpus.display()
    );
    let mut queue = initial.into_iter();
    loop {
        let elapsed = start.elapsed();
        if elapsed >= deadline || o.iterations.is_some_and(|n| inputs >= n) {
            break;
        }
        if elapsed >= next_report {
            println!(
                "  {:>5} s: {inputs} inputs, {:.0}/s, pool {}, findings {}",
                elapsed.as_secs(),
                inputs as f64 / elapsed.as_secs_f64(),
                pool.len(),
                finding_kinds.values().sum::<u64>()
            );
            next_report += Duration::from_secs(10);
        }
        let input = match queue.next() {
            Some(i) => i,
            None => {
                let base = &pool[rng.below(pool.len())];
                mutate(&mut rng, base, &pool)
            }
        };
        if let Some(path) = &o.trace {
            std::fs::write(path, &input).expect("write the trace file");
        }
        inputs += 1;
        bytes_total += input.len() as u64;
        let t = Instant::now();
        let result = run_input(&fx, &input);
        let took = t.elapsed();
        if took > slowest.0 {
            slowest = (took, short_sha(&input));
        }
        let failure = match result {
            Ok(report) => {
                contained_panics += report.contained_panics;
                for label in &report.outcomes {
                    *counts.entry(label).or_default() += 1;
                }
                let mut novel = false;
                for f in &report.features {
                    novel |= features.insert(*f);
                }
                if novel && pool.len() < POOL_CAP {
                    pool.push(input.clone());
                }
                (took > SLOW).then(|| fuzz_check::Finding {
                    kind: "slow",
                    detail: format!("one input took {took:?}"),
                })
            }
            Err(f) => Some(f),
        };
        if let Some(f) = failure {
            *finding_kinds.entry(f.kind).or_default() += 1;
            let sha = short_sha(&input);
            if saved.insert(sha.clone()) && saved.len() <= 100 {
                std::fs::create_dir_all(&o.findings).expect("create the findings folder");
                let bin = o.findings.join(format!("{sha}.bin"));
                std::fs::write(&bin, &input).expect("save the finding");
                std::fs::write(o.findings.join(format!("{sha}.txt")), format!("{f}\n"))
                    .expect("save the finding's description");
                println!("FINDING {} ({} bytes): {f}", bin.display(), input.len());
            }
        }
    }

    let secs = start.elapsed().as_secs_f64();
    println!("\n== fuzz_push summary ==");
    println!("seed            : {}", o.seed);
    println!("ran             : {secs:.1} s");
    println!(
        "inputs          : {inputs} ({:.0}/s, mean {:.0} bytes)",
        inputs as f64 / secs,
        bytes_total as f64 / inputs.max(1) as f64
    );
    println!("distinct paths  : {} (pool {})", features.len(), pool.len());
    println!("slowest input   : {:?} ({})", slowest.0, slowest.1);
    println!("contained panics: {contained_panics} (Automerge panics caught inside the core)");
    for (site, n) in fuzz_check::panic_sites() {
        println!("  {n:>8} x {site}");
    }
    println!("outcomes (decoded requests: one per push per stored target):");
    for (label, n) in &counts {
        println!("  {label:<36} {n}");
    }
    let total: u64 = finding_kinds.values().sum();
    println!("findings        : {total}");
    for (kind, n) in &finding_kinds {
        println!("  {kind:<36} {n}");
    }
    if total > 0 {
        println!("saved under {}", o.findings.display());
        std::process::exit(1);
    }
}
