//! Scripts standing in for wrangler, which log each call, and what they logged.

use std::path::PathBuf;

use super::{wrangler_shell_words, Project};

impl Project {
    /// A script standing in for wrangler: logs each call's start and end to
    /// `calls.log`, runs `before` (shell), then the real wrangler.
    pub fn wrapper(&self, before: &str) -> PathBuf {
        let path = self.path("fake-wrangler.sh");
        let log = self.path("calls.log");
        let script = format!(
            "#!/bin/sh\necho \"start $(date +%s%N) $*\" >> '{log}'\n{before}\n{real} \"$@\"\ncode=$?\necho \"end $(date +%s%N) $*\" >> '{log}'\nexit $code\n",
            log = log.display(),
            real = wrangler_shell_words(),
        );
        std::fs::write(&path, script).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        path
    }

    /// The calls `wrapper` logged: (start ns, end ns, arguments).
    pub fn calls(&self) -> Vec<(u128, u128, String)> {
        let log = std::fs::read_to_string(self.path("calls.log")).unwrap_or_default();
        let mut starts = Vec::new();
        let mut calls = Vec::new();
        for line in log.lines() {
            let mut parts = line.splitn(3, ' ');
            let (kind, at, args) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap_or(""),
            );
            let at: u128 = at.parse().unwrap();
            if kind == "start" {
                starts.push((at, args.to_owned()));
            } else {
                let index = starts.iter().position(|(_, a)| a == args).unwrap();
                let (start, args) = starts.remove(index);
                calls.push((start, at, args));
            }
        }
        std::fs::remove_file(self.path("calls.log")).ok();
        calls
    }
}
