//! The fuzz driver, on stable Rust: runs one target for a set time with
//! mutated inputs from its committed seed corpus.
//!
//! ```text
//! bash scripts/fuzz.sh 600                     # what to run: every target, release build, 600 s each
//! cargo run --release -p wangge-sync-server --example fuzz -- --target NAME [options]
//!   --target NAME     push (sync decoder, push check, merge), catalog (checklist, calendar,
//!                     grid loaders), roster (roster loader), photo (photo import)
//!   --list            print the targets' names and exit
//!   --seconds N       run for N seconds (default 60)
//!   --iterations N    stop after N inputs instead (whichever comes first)
//!   --seed S          PRNG seed (default: $FUZZ_SEED, else 1); same seed, same inputs
//!   --corpus DIR      seed corpora (default fuzz/corpus): DIR/NAME/ holds the target's seeds
//!   --findings DIR    where findings go (default fuzz/findings): DIR/NAME/<sha>.bin and .txt;
//!                     the saved findings are also run first, as seeds
//!   --write-corpus    generate the target's seed corpus into DIR/NAME/ (replaces it) and exit
//!   --trace FILE      write each input to FILE before running it: if the process
//!                     dies (abort, out of memory), FILE holds the input that killed it
//! ```
//!
//! The targets, their invariants and mutators are in `tests/support/`
//! (`fuzz_check.rs` for push, `fuzz_targets.rs` for the others), the engine
//! they share in `fuzz_engine.rs`. A finding (an escaped panic, a broken
//! invariant, an input taking over 2 s) is saved and printed;
//! `cargo test -p wangge-sync-server --test fuzz_regressions` replays every
//! saved finding of every target. Inputs that take a new path (a new
//! outcome or error message shape) join the pool of inputs to mutate.
//!
//! Exit status: 0 without findings, 1 with findings, 2 on bad arguments.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/fuzz_check.rs"]
mod fuzz_check;
#[path = "../tests/support/fuzz_engine.rs"]
mod fuzz_engine;
#[path = "../tests/support/fuzz_targets.rs"]
mod fuzz_targets;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fuzz_engine::{
    Counts, Rng, Target, findings_dir, read_dir_sorted, repo_root, run_input, save_finding,
    short_sha,
};

const POOL_CAP: usize = 4096;

struct Options {
    target: Option<String>,
    seconds: u64,
    iterations: Option<u64>,
    seed: u64,
    corpus: PathBuf,
    findings: PathBuf,
    write_corpus: bool,
    trace: Option<PathBuf>,
}

fn usage(why: &str) -> ! {
    eprintln!("fuzz: {why}\nsee the header of sync-server/examples/fuzz.rs for the options");
    std::process::exit(2)
}

fn options() -> Options {
    let root = repo_root();
    let mut o = Options {
        target: None,
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
            "--target" => o.target = Some(value("--target")),
            "--list" => {
                println!("{}", fuzz_targets::TARGETS.join("\n"));
                std::process::exit(0)
            }
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
    let Some(name) = o.target.clone() else {
        usage("--target NAME is required (--list names them)")
    };
    if o.write_corpus {
        let written = fuzz_targets::write_corpus(&name, &o.corpus)
            .unwrap_or_else(|e| usage(&format!("cannot write the corpus: {e}")));
        // The seeds must be what they claim: each runs clean.
        let target = fuzz_targets::by_name(&name, &o.corpus).unwrap_or_else(|e| usage(&e));
        fuzz_engine::install_quiet_panic_hook();
        for (seed, bytes) in target.seeds() {
            let r =
                run_input(target.as_ref(), bytes).unwrap_or_else(|f| panic!("seed {seed}: {f}"));
            println!("  {seed} ({} bytes): {:?}", bytes.len(), r.outcomes);
        }
        let total: usize = written.iter().map(|(_, n)| n).sum();
        println!(
            "wrote {} files, {total} bytes, to {}",
            written.len(),
            o.corpus.join(&name).display()
        );
        return;
    }
    let mut target = fuzz_targets::by_name(&name, &o.corpus).unwrap_or_else(|e| usage(&e));
    if name == "photo" {
        // A process of its own: the peak RSS is this target's.
        let mut photo = fuzz_targets::PhotoTarget::new(target.seeds().to_vec());
        photo.measure_memory = true;
        target = Box::new(photo);
    }
    std::process::exit(drive(target.as_ref(), &o));
}

/// Runs the seeds and saved findings, then mutants until the time is up;
/// prints a summary; returns the exit status.
fn drive(target: &dyn Target, o: &Options) -> i32 {
    let name = target.name();
    let findings = findings_dir(&o.findings, name);
    let mut pool: Vec<Vec<u8>> = target.seeds().iter().map(|(_, b)| b.clone()).collect();
    let seeds = pool.len();
    pool.extend(
        read_dir_sorted(&findings)
            .expect("read the findings folder")
            .into_iter()
            .map(|(_, b)| b),
    );
    fuzz_engine::install_quiet_panic_hook();

    let mut counts = Counts::new();
    let mut features: HashSet<u64> = HashSet::new();
    let mut finding_kinds = Counts::new();
    let mut saved: HashSet<String> = HashSet::new();
    let mut contained_panics = 0u64;
    let mut inputs = 0u64;
    let mut slowest = (Duration::ZERO, String::new());
    let mut bytes_total = 0u64;

    // The seeds and saved findings first, as they are.
    let mut queue = pool.clone().into_iter();
    let mut rng = Rng::new(o.seed);
    let start = Instant::now();
    let deadline = Duration::from_secs(o.seconds);
    let mut next_report = Duration::from_secs(10);
    println!(
        "fuzz {name}: seed {}, {} seconds, {seeds} seeds + {} saved findings",
        o.seed,
        o.seconds,
        pool.len() - seeds,
    );
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
            next_report += Duration::from_secs(60.min(10 + elapsed.as_secs() / 6));
        }
        let input = match queue.next() {
            Some(i) => i,
            None => {
                // A seed a quarter of the time: the pool fills with broken inputs, whose
                // mutants stay broken; a seed's mutants reach past the first check.
                let base = if rng.one_in(4) {
                    &pool[rng.below(seeds)]
                } else {
                    &pool[rng.below(pool.len())]
                };
                target.mutate(&mut rng, base, &pool)
            }
        };
        if let Some(path) = &o.trace {
            std::fs::write(path, &input).expect("write the trace file");
        }
        inputs += 1;
        bytes_total += input.len() as u64;
        let t = Instant::now();
        let result = run_input(target, &input);
        let took = t.elapsed();
        if took > slowest.0 {
            slowest = (took, short_sha(&input));
        }
        match result {
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
                    pool.push(input);
                }
            }
            Err(f) => {
                *finding_kinds.entry(f.kind).or_default() += 1;
                if saved.insert(short_sha(&input)) && saved.len() <= 100 {
                    let bin = save_finding(&findings, &input, &f).expect("save the finding");
                    println!("FINDING {} ({} bytes): {f}", bin.display(), input.len());
                }
            }
        }
    }

    let secs = start.elapsed().as_secs_f64();
    let total: u64 = finding_kinds.values().sum();
    println!("\n== fuzz {name} summary ==");
    println!("seed            : {}", o.seed);
    println!("ran             : {secs:.1} s");
    println!(
        "inputs          : {inputs} ({:.0}/s, mean {:.0} bytes)",
        inputs as f64 / secs,
        bytes_total as f64 / inputs.max(1) as f64
    );
    println!("distinct paths  : {} (pool {})", features.len(), pool.len());
    println!("slowest input   : {:?} ({})", slowest.0, slowest.1);
    for line in target.notes() {
        println!("{line}");
    }
    println!("contained panics: {contained_panics} (raised and caught inside the code under test)");
    for (site, n) in fuzz_engine::panic_sites() {
        println!("  {n:>8} x {site}");
    }
    println!("outcomes:");
    for (label, n) in &counts {
        println!("  {label:<36} {n}");
    }
    println!("findings        : {total}");
    for (kind, n) in &finding_kinds {
        println!("  {kind:<36} {n}");
    }
    // One line for scripts/fuzz.sh to collect.
    println!("RESULT target={name} seconds={secs:.0} inputs={inputs} findings={total}");
    if total > 0 {
        println!("saved under {}", findings.display());
        1
    } else {
        0
    }
}
