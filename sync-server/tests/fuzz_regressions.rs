//! The push fuzzer's regressions, on stable Rust in CI: every committed seed
//! request (`fuzz/corpus/push/`) and every saved finding (`fuzz/findings/`)
//! goes through the fuzzer's check (`support/fuzz_check.rs`: decode →
//! `merge_push` against four stored states → the invariants on what would
//! be stored), then 2,000 fixed-seed mutants of the seeds do.
//!
//! The long run is `bash scripts/fuzz.sh [seconds]` (see
//! `examples/fuzz_push.rs`); what it finds lands in `fuzz/findings/` and is
//! replayed here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fuzz_check.rs"]
mod fuzz_check;

use std::collections::HashSet;
use std::path::PathBuf;

use fuzz_check::{Fixture, Rng, install_quiet_panic_hook, mutate, read_dir_sorted, run_input};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn corpus() -> Fixture {
    Fixture::load(&root().join("fuzz/corpus"))
        .expect("the committed corpus fuzz/corpus (write it with `fuzz_push --write-corpus`)")
}

#[test]
fn every_committed_seed_is_stored_somewhere_and_holds_the_invariants() {
    install_quiet_panic_hook();
    let fx = corpus();
    assert!(
        fx.seeds.len() >= 6,
        "the corpus has {} seeds",
        fx.seeds.len()
    );
    for (name, input) in &fx.seeds {
        let report = run_input(&fx, input).unwrap_or_else(|f| panic!("seed {name}: {f}"));
        assert!(
            report.outcomes.contains(&"changed"),
            "seed {name} is a valid push, yet no stored state accepts it: {:?}",
            report.outcomes
        );
    }
}

#[test]
fn freshly_generated_seeds_are_still_valid_pushes() {
    install_quiet_panic_hook();
    let fx = Fixture::generate();
    for (name, input) in &fx.seeds {
        let report = run_input(&fx, input).unwrap_or_else(|f| panic!("seed {name}: {f}"));
        assert!(
            report.outcomes.contains(&"changed"),
            "seed {name}: {:?}",
            report.outcomes
        );
    }
}

#[test]
fn saved_findings_hold_the_invariants() {
    install_quiet_panic_hook();
    let fx = corpus();
    let findings = read_dir_sorted(&root().join("fuzz/findings")).expect("read fuzz/findings");
    let failures: Vec<String> = findings
        .iter()
        .filter_map(|(name, input)| {
            run_input(&fx, input)
                .err()
                .map(|f| format!("{name}.bin: {f}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "findings still reproduce:\n{}",
        failures.join("\n")
    );
}

#[test]
fn two_thousand_fixed_seed_mutants_hold_the_invariants() {
    install_quiet_panic_hook();
    let fx = corpus();
    let mut pool: Vec<Vec<u8>> = fx.seeds.iter().map(|(_, b)| b.clone()).collect();
    let seeds = pool.len();
    let mut features = HashSet::new();
    let mut rng = Rng::new(0x5eed_2026);
    let mut changed = 0;
    for i in 0..2_000 {
        // Mutants of mutants, as the driver does, but never far from a seed.
        let base = if pool.len() > seeds && rng.one_in(2) {
            &pool[seeds + rng.below(pool.len() - seeds)]
        } else {
            &pool[rng.below(seeds)]
        };
        let input = mutate(&mut rng, base, &pool);
        let report = run_input(&fx, &input).unwrap_or_else(|f| {
            panic!(
                "mutant {i} ({} bytes): {f}\ninput: {input:02x?}",
                input.len()
            )
        });
        changed += report.outcomes.iter().filter(|o| **o == "changed").count();
        let mut novel = false;
        for f in report.features {
            novel |= features.insert(f);
        }
        if novel && pool.len() < seeds + 256 {
            pool.push(input);
        }
    }
    assert!(
        changed > 0,
        "no mutant was stored: the mutator no longer reaches the rules"
    );
}

#[test]
fn an_escaping_panic_is_a_finding_not_a_crash() {
    install_quiet_panic_hook();
    let (result, raised) = fuzz_check::contain::<()>(|| panic!("boom {}", 42));
    let f = result.expect_err("the panic is a finding");
    assert_eq!(f.kind, "panic");
    assert!(f.detail.contains("boom 42"), "{}", f.detail);
    assert_eq!(raised, 1);
}
