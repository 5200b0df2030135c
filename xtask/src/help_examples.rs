//! The examples that end each command's `--help`: two or three command lines
//! a user is likely to want, each with what it does.

pub const MIGRATE: &str = "\
Examples:
  cargo migrate up                  # apply what is pending, on the local D1
  cargo migrate status --remote     # what production has, and what it lacks
  cargo migrate down 3 --db AUTH    # roll AUTH back to version 3";

pub const UP: &str = "\
Examples:
  cargo migrate up                       # every pending migration, locally
  cargo migrate up --dry-run --remote    # the plan and its SQL, rehearsed on a copy
  cargo migrate up 4 --db AUTH           # AUTH's migrations up to version 4";

pub const DOWN: &str = "\
Examples:
  cargo migrate down 3              # undo every migration above version 3
  cargo migrate down 0 --dry-run    # what rolling everything back would run
  cargo migrate down 5 --remote     # production, with a restore point first";

pub const STATUS: &str = "\
Examples:
  cargo migrate status              # applied, pending, modified, missing
  cargo migrate status -v           # also when each ran and how long it took
  cargo migrate status --json       # for scripts";

pub const NEW: &str = "\
Examples:
  cargo migrate new \"add user tier\"              # 0007_add_user_tier.sql and its rollback
  cargo migrate new \"audit log\" --db AUTH        # with a `-- database: AUTH` header";

pub const CHECK: &str = "\
Examples:
  cargo migrate check               # names, sequence, routing, rollbacks, D1 lint
  cargo migrate check --strict      # warnings fail too (for CI)";

pub const BACKUP: &str = "\
Examples:
  cargo migrate backup              # export every local database into backups/
  cargo migrate backup --list       # what is there to restore
  cargo migrate backup --remote --db AUTH";

pub const RESTORE: &str = "\
Examples:
  cargo migrate restore backups/AUTH-20261203T101500Z-v4.sqlite --db AUTH
  cargo migrate restore --remote --db AUTH --bookmark 00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683";

pub const UNLOCK: &str = "\
Examples:
  cargo migrate unlock --db AUTH            # a run died holding AUTH's lock
  cargo migrate unlock --remote --db AUTH";

pub const VERIFY: &str = "\
Examples:
  cargo migrate verify              # the local schemas against the migrations
  cargo migrate verify --remote     # production's, before a release";

pub const MARK: &str = "\
Examples:
  cargo migrate mark 5 --applied --db AUTH    # it was run by hand: record it
  cargo migrate mark 5 --pending --db AUTH    # forget it, so `up` runs it again
  cargo migrate mark 5 --checksum             # a comment was edited in an applied file";

pub const RENUMBER: &str = "\
Examples:
  cargo migrate renumber --dry-run  # after a merge: what would move
  cargo migrate renumber --remote   # keep what production applied in place";

pub const BASELINE: &str = "\
Examples:
  cargo migrate baseline 4 --remote # production already has 1..=4";

pub const ADOPT: &str = "\
Examples:
  cargo migrate adopt               # the local databases wrangler migrated
  cargo migrate adopt --remote      # production, once";

pub const NOTIFY: &str = "\
Examples:
  cargo migrate notify --test       # a test message to every channel";

pub const UI: &str = "\
Examples:
  cargo migrate ui                  # prints the address to open
  cargo migrate ui --remote --open  # production, in the default browser";

pub const BUILD_WORKER: &str = "\
Examples:
  cargo xtask build-worker          # release build into worker/build/
  cargo xtask build-worker --dev    # faster to build, larger to ship";

pub const RELEASE: &str = "\
Examples:
  cargo xtask release --local       # the whole chain on this machine
  cargo xtask release --dry-run     # stop after the rehearsal
  cargo xtask release --rollback-on-failure";

pub const BENCH: &str = "\
Examples:
  cargo xtask bench                 # migrate against wrangler, 10/40/160 migrations
  cargo xtask bench --sizes 40 --runs 3
  cargo xtask bench --remote        # through the API double";

pub const TEST: &str = "\
Examples:
  cargo xtask test                      # set up, build, then every test
  cargo xtask test -- -p xtask --lib    # set up, then the unit tests
  cargo xtask test --check              # what is missing; installs nothing";

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use crate::flags::Xtask;

    /// `line`'s words, as a shell splits them (double quotes only).
    fn words(line: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word = String::new();
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ' ' if !quoted => {
                    if !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                }
                c => word.push(c),
            }
        }
        words.extend((!word.is_empty()).then_some(word));
        words
    }

    #[test]
    fn every_command_ends_its_help_with_examples_that_parse() {
        let mut checked = 0;
        let mut xtask = Xtask::command();
        let mut commands: Vec<Vec<String>> = xtask
            .get_subcommands()
            .map(|c| vec![c.get_name().to_owned()])
            .collect();
        let migrate = xtask.find_subcommand_mut("migrate").unwrap();
        commands.extend(
            migrate
                .get_subcommands()
                .map(|c| vec!["migrate".to_owned(), c.get_name().to_owned()]),
        );
        for path in commands {
            let mut command = Xtask::command();
            let mut found = &mut command;
            for name in &path {
                found = found.find_subcommand_mut(name).unwrap();
            }
            let help = found.render_help().to_string();
            let examples = help
                .split_once("Examples:\n")
                .unwrap_or_else(|| panic!("{path:?} has no examples:\n{help}"))
                .1;
            let lines: Vec<&str> = examples.lines().filter(|l| !l.trim().is_empty()).collect();
            assert!(!lines.is_empty(), "{path:?}");
            for line in lines {
                let line = line.split(" # ").next().unwrap().trim();
                let mut args = words(line);
                assert_eq!(args.first().map(String::as_str), Some("cargo"), "{line}");
                // `cargo migrate …` is `xtask migrate …`; `cargo xtask …` is `xtask …`.
                args[0] = "xtask".to_owned();
                if args[1] == "xtask" {
                    args.remove(1);
                }
                let parsed = Xtask::try_parse_from(&args);
                assert!(parsed.is_ok(), "{line}: {}", parsed.unwrap_err());
                checked += 1;
            }
        }
        assert!(checked > 40, "{checked} examples");
    }
}
