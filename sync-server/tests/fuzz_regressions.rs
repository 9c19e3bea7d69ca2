//! The fuzzers' regressions, on stable Rust in CI, for every target (push:
//! the sync decoder, push check and merge; catalog: the checklist, calendar
//! and grid loaders; roster: the roster loader; photo: the photo import):
//! every committed seed (`fuzz/corpus/<target>/`) and every saved finding
//! (`fuzz/findings/<target>/`) goes through the target's check
//! (`support/fuzz_check.rs`, `support/fuzz_targets.rs`), then fixed-seed
//! mutants of the seeds do.
//!
//! The long run is `bash scripts/fuzz.sh [seconds]` (see
//! `examples/fuzz.rs`); what it finds lands in `fuzz/findings/<target>/`
//! and is replayed here: a crash found once stays fixed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fuzz_check.rs"]
mod fuzz_check;
#[path = "support/fuzz_engine.rs"]
mod fuzz_engine;
#[path = "support/fuzz_targets.rs"]
mod fuzz_targets;

use std::path::PathBuf;

use fuzz_check::Fixture;
use fuzz_engine::{
    MutantRun, Target, findings_dir, install_quiet_panic_hook, read_dir_sorted, replay_mutants,
    repo_root, run_input,
};
use fuzz_targets::{TARGETS, by_name};

fn corpus() -> PathBuf {
    repo_root().join("fuzz/corpus")
}

fn target(name: &str) -> Box<dyn Target> {
    by_name(name, &corpus()).unwrap_or_else(|e| panic!("{e}"))
}

/// `n` fixed-seed mutants of target `name`'s seeds, each holding the invariants.
fn mutants(name: &str, seed: u64, n: usize) -> MutantRun {
    install_quiet_panic_hook();
    replay_mutants(target(name).as_ref(), seed, n).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_target_has_a_committed_corpus_whose_seeds_hold_the_invariants() {
    install_quiet_panic_hook();
    for name in TARGETS {
        let t = target(name);
        assert!(t.seeds().len() >= 3, "{name} has {} seeds", t.seeds().len());
        for (seed, input) in t.seeds() {
            run_input(t.as_ref(), input).unwrap_or_else(|f| panic!("{name} seed {seed}: {f}"));
        }
    }
}

#[test]
fn every_committed_push_seed_is_stored_somewhere() {
    install_quiet_panic_hook();
    let fx = Fixture::load(&corpus().join("push")).expect("fuzz/corpus/push");
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
fn freshly_generated_push_seeds_are_still_valid_pushes() {
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
fn the_loader_seeds_load_and_the_photo_seeds_prepare() {
    install_quiet_panic_hook();
    for (name, accepted) in [
        ("catalog", "loaded"),
        ("roster", "accepted"),
        ("photo", "ok:"),
    ] {
        let t = target(name);
        for (seed, input) in t.seeds() {
            let report = run_input(t.as_ref(), input).unwrap();
            assert!(
                report.outcomes.iter().any(|o| o.starts_with(accepted)),
                "{name} seed {seed} is not accepted: {:?}",
                report.outcomes
            );
        }
    }
}

#[test]
fn saved_findings_of_every_target_hold_the_invariants() {
    install_quiet_panic_hook();
    let mut failures = Vec::new();
    let mut replayed = 0;
    for name in TARGETS {
        let t = target(name);
        let dir = findings_dir(&repo_root().join("fuzz/findings"), name);
        for (finding, input) in read_dir_sorted(&dir).expect("read fuzz/findings") {
            replayed += 1;
            if let Err(f) = run_input(t.as_ref(), &input) {
                failures.push(format!("{name}/{finding}.bin: {f}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {replayed} findings still reproduce:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn two_thousand_fixed_seed_push_mutants_hold_the_invariants() {
    let run = mutants("push", 0x5eed_2026, 2_000);
    assert!(
        run.counts.get("changed").copied().unwrap_or(0) > 0,
        "no mutant was stored: the mutator no longer reaches the rules: {:?}",
        run.counts
    );
}

#[test]
fn fixed_seed_catalog_mutants_hold_the_invariants() {
    let run = mutants("catalog", 0x5eed_2027, 150);
    assert!(
        run.counts.contains_key("loaded") && run.features > 10,
        "the mutants no longer reach past the loaders: {run:?}"
    );
}

#[test]
fn fixed_seed_roster_mutants_hold_the_invariants() {
    let run = mutants("roster", 0x5eed_2028, 1_000);
    assert!(
        run.counts.contains_key("accepted") && run.counts.contains_key("invalid"),
        "the mutants no longer reach both sides of the rules: {run:?}"
    );
}

#[test]
fn fixed_seed_photo_mutants_hold_the_invariants() {
    let run = mutants("photo", 0x5eed_2029, 300);
    assert!(
        run.counts.keys().any(|k| k.starts_with("ok:")) && run.counts.contains_key("err:corrupt"),
        "the mutants no longer reach both decoding and refusal: {run:?}"
    );
}

#[test]
fn an_escaping_panic_is_a_finding_not_a_crash() {
    install_quiet_panic_hook();
    let (result, raised) = fuzz_engine::contain::<()>(|| panic!("boom {}", 42));
    let f = result.expect_err("the panic is a finding");
    assert_eq!(f.kind, "panic");
    assert!(f.detail.contains("boom 42"), "{}", f.detail);
    assert_eq!(raised, 1);
}
