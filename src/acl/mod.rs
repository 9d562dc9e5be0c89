//! Access control: the users (`ACL SETUSER ...`), authentication, and the
//! ACL file (`--aclfile`, `ACL LOAD`, `ACL SAVE`).
//!
//! Users are immutable snapshots behind `Arc`s; a change replaces the
//! user's snapshot and bumps a generation counter. A connection keeps its
//! user's snapshot and compares the generation (one atomic load) before each
//! command, so permission checks never take a lock, and a change applies to
//! connections from their next command on.
//!
//! - [`user`]: one user, its rules, description and the permission check.

pub mod user;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;
use vexlake_protocol::inline::split_args;

pub use user::{Denied, User};

/// All users.
#[derive(Debug)]
pub struct Acl {
    users: RwLock<BTreeMap<String, Arc<User>>>,
    generation: AtomicU64,
    file: Option<PathBuf>,
}

/// `ACL LOAD`/`SAVE` without `--aclfile` (Redis's text).
const NO_FILE: &str = "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

fn has_spaces(s: &str) -> bool {
    s.bytes().any(|c| c.is_ascii_whitespace() || c == 0)
}

impl Acl {
    /// The users at start: the default user (with `requirepass` as its
    /// password when given), then the users of `file` when given.
    pub fn new(requirepass: Option<&str>, file: Option<PathBuf>) -> Result<Acl, String> {
        let mut default = User::default_user();
        if let Some(pw) = requirepass {
            default
                .apply("resetpass")
                .and_then(|_| default.apply(&format!(">{pw}")))
                .map_err(|e| e.text().to_string())?;
        }
        let mut users = BTreeMap::new();
        users.insert("default".to_string(), Arc::new(default));
        if let Some(path) = &file {
            users = read_file(path)?;
        }
        Ok(Acl {
            users: RwLock::new(users),
            generation: AtomicU64::new(0),
            file,
        })
    }

    /// Changes on every change of any user.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The user named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<User>> {
        self.users.read().get(name).cloned()
    }

    /// The default user.
    pub fn default_user(&self) -> Arc<User> {
        self.get("default").expect("the default user always exists")
    }

    /// Whether a new connection starts authenticated (as the default user):
    /// the default user is on and has `nopass`.
    pub fn starts_authenticated(&self) -> bool {
        let d = self.default_user();
        d.enabled && d.nopass
    }

    /// The user `name` if it is on and `password` is one of its passwords.
    pub fn authenticate(&self, name: &[u8], password: &[u8]) -> Option<Arc<User>> {
        let name = std::str::from_utf8(name).ok()?;
        let u = self.get(name)?;
        (u.enabled && u.password_ok(password)).then_some(u)
    }

    /// `ACL SETUSER name rules...`: all rules apply, or none (the error text
    /// names the first bad rule, as Redis's does).
    pub fn set_user(&self, name: &str, rules: &[String]) -> Result<(), String> {
        if has_spaces(name) {
            return Err("Usernames can't contain spaces or null characters".into());
        }
        let mut users = self.users.write();
        let mut u = users
            .get(name)
            .map(|u| (**u).clone())
            .unwrap_or_else(|| User::new(name));
        for rule in rules {
            u.apply(rule)
                .map_err(|e| format!("Error in ACL SETUSER modifier '{rule}': {}", e.text()))?;
        }
        users.insert(name.to_string(), Arc::new(u));
        drop(users);
        self.changed();
        Ok(())
    }

    /// `ACL DELUSER names...`: the number deleted. Connections of a deleted
    /// user are closed at their next command.
    pub fn delete(&self, names: &[&str]) -> Result<usize, String> {
        if names.contains(&"default") {
            return Err("The 'default' user cannot be removed".into());
        }
        let mut users = self.users.write();
        let n = names.iter().filter(|n| users.remove(**n).is_some()).count();
        drop(users);
        if n > 0 {
            self.changed();
        }
        Ok(n)
    }

    /// Every user, by name.
    pub fn users(&self) -> Vec<Arc<User>> {
        self.users.read().values().cloned().collect()
    }

    /// `ACL LOAD`: replaces every user with the file's, or changes nothing.
    pub fn load(&self) -> Result<(), String> {
        let path = self.file.as_ref().ok_or(NO_FILE)?;
        let users = read_file(path)?;
        *self.users.write() = users;
        self.changed();
        Ok(())
    }

    /// `ACL SAVE`: writes every user to the file (a new file renamed over
    /// the old one, so a crash leaves one or the other).
    pub fn save(&self) -> Result<(), String> {
        let path = self.file.as_ref().ok_or(NO_FILE)?;
        let mut text = String::new();
        for u in self.users() {
            text.push_str(&format!("user {} {}\n", u.name, u.describe()));
        }
        write_atomically(path, text.as_bytes()).map_err(|e| {
            tracing::warn!(file = %path.display(), error = %e, "ACL SAVE failed");
            "There was an error trying to save the ACLs. Please check the server logs for more information".to_string()
        })
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Reads an ACL file: `user <name> <rules...>` lines, `#` comments and blank
/// lines. Every error is reported, with its line; any error loads nothing.
/// Without a `user default` line the default user is the built-in one.
fn read_file(path: &Path) -> Result<BTreeMap<String, Arc<User>>, String> {
    let text = std::fs::read(path)
        .map_err(|e| format!("Error loading ACLs, opening file '{}': {e}", path.display()))?;
    let name = path.display();
    let mut users: BTreeMap<String, Arc<User>> = BTreeMap::new();
    let mut errors = String::new();
    for (n, line) in text.split(|&c| c == b'\n').enumerate() {
        let n = n + 1;
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let words: Vec<String> = match split_args(line) {
            Some(w) => w
                .into_iter()
                .map(|w| String::from_utf8_lossy(&w).into_owned())
                .collect(),
            None => {
                errors.push_str(&format!("{name}:{n}: unbalanced quotes in acl line. "));
                continue;
            }
        };
        if words.len() < 2 || words[0] != "user" {
            errors.push_str(&format!(
                "{name}:{n} should start with user keyword followed by the username. "
            ));
            continue;
        }
        let uname = &words[1];
        if has_spaces(uname) {
            errors.push_str(&format!(
                "{name}:{n}: username '{uname}' contains invalid characters. "
            ));
            continue;
        }
        if users.contains_key(uname) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{uname}' found on line {n}. "
            ));
            continue;
        }
        let mut u = User::new(uname);
        let mut ok = true;
        for rule in &words[2..] {
            if let Err(e) = u.apply(rule) {
                errors.push_str(&format!(
                    "{name}:{n}: Error in applying operation '{rule}': {}. ",
                    e.text()
                ));
                ok = false;
                break;
            }
        }
        if ok {
            users.insert(uname.clone(), Arc::new(u));
        }
    }
    if !errors.is_empty() {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
        );
        return Err(errors);
    }
    users
        .entry("default".to_string())
        .or_insert_with(|| Arc::new(User::default_user()));
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirepass_sets_the_default_password() {
        let acl = Acl::new(Some("pw"), None).unwrap();
        assert!(!acl.starts_authenticated());
        assert!(acl.authenticate(b"default", b"pw").is_some());
        assert!(acl.authenticate(b"default", b"nope").is_none());
        assert!(Acl::new(None, None).unwrap().starts_authenticated());
    }

    #[test]
    fn setuser_is_all_or_nothing_and_bumps_the_generation() {
        let acl = Acl::new(None, None).unwrap();
        let g = acl.generation();
        let rules = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        acl.set_user("alice", &rules(&["on", ">pw", "+get"]))
            .unwrap();
        assert!(acl.generation() > g);
        let err = acl
            .set_user("alice", &rules(&["+set", "+nosuch"]))
            .unwrap_err();
        assert_eq!(
            err,
            "Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL"
        );
        assert_eq!(acl.get("alice").unwrap().describe_commands(), "-@all +get");
        assert!(acl.authenticate(b"alice", b"pw").is_some());
        acl.set_user("alice", &rules(&["off"])).unwrap();
        assert!(acl.authenticate(b"alice", b"pw").is_none());
        assert_eq!(acl.delete(&["alice", "bob"]), Ok(1));
        assert!(acl.delete(&["default"]).is_err());
    }

    #[test]
    fn file_round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.acl");
        std::fs::write(&path, "# users\nuser app on >pw ~app:* +@read\n\n").unwrap();
        let acl = Acl::new(None, Some(path.clone())).unwrap();
        assert!(acl.authenticate(b"app", b"pw").is_some());
        assert!(
            acl.starts_authenticated(),
            "default user is the built-in one"
        );
        acl.set_user("ops", &["on".into(), "nopass".into(), "+@admin".into()])
            .unwrap();
        acl.save().unwrap();
        let saved = std::fs::read_to_string(&path).unwrap();
        assert!(saved.contains("user ops on nopass sanitize-payload resetchannels -@all +@admin"));
        assert!(!saved.contains(">pw"));
        let again = Acl::new(None, Some(path.clone())).unwrap();
        assert_eq!(
            again
                .users()
                .iter()
                .map(|u| u.describe())
                .collect::<Vec<_>>(),
            acl.users().iter().map(|u| u.describe()).collect::<Vec<_>>()
        );
        std::fs::write(&path, "user a on +nosuch\nuser a off\nhello\n").unwrap();
        let err = acl.load().unwrap_err();
        let p = path.display();
        assert_eq!(
            err,
            format!(
                "{p}:1: Error in applying operation '+nosuch': Unknown command or category name in ACL. {p}:3 should start with user keyword followed by the username. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
            )
        );
        assert!(acl.get("ops").is_some(), "a failed LOAD changes nothing");
        assert_eq!(Acl::new(None, None).unwrap().load().unwrap_err(), NO_FILE);
    }
}
