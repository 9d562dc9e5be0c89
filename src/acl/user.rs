//! One ACL user: its flags, hashed passwords, command rules and key
//! patterns; how `ACL SETUSER` rules change it, how it is described (ACL
//! LIST, the ACL file, ACL GETUSER), and the check every command of a
//! restricted user goes through.
//!
//! Commands are allowed by name (`get`, `config|get`): a category rule adds
//! or removes every command and subcommand that lists the category in the
//! command table, in the order the rules were given, as in Redis.

use std::collections::HashSet;
use std::sync::LazyLock;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use vexlake_engine::glob::glob_match;

use crate::cmd::table::{self, CommandSpec};

/// Categories of `ACL CAT`: Redis's, then VexLake's `vector` and `sql`.
pub const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
    "vector",
    "vectorset",
    "sql",
];

/// Every command and subcommand of the table.
static ALL: LazyLock<Vec<&'static CommandSpec>> = LazyLock::new(|| {
    table::all()
        .flat_map(|c| std::iter::once(c).chain(c.subcommands.iter()))
        .collect()
});

/// Commands and subcommands in `category` (without the `@`).
pub fn in_category(category: &str) -> impl Iterator<Item = &'static CommandSpec> {
    let tag = format!("@{category}");
    ALL.iter()
        .copied()
        .filter(move |c| c.acl.contains(&tag.as_str()))
}

/// Why a `SETUSER` rule was refused (Redis's texts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    /// ENOENT.
    Unknown,
    /// EINVAL.
    Syntax,
    /// EEXIST.
    AfterAllKeys,
    /// EISDIR.
    AfterAllChannels,
    /// ENODEV.
    NoSuchPassword,
    /// EBADMSG.
    BadHash,
}

impl RuleError {
    /// The text Redis gives after the rule.
    pub fn text(self) -> &'static str {
        match self {
            RuleError::Unknown => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::AfterAllKeys => {
                "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
            }
            RuleError::AfterAllChannels => {
                "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"
            }
            RuleError::NoSuchPassword => {
                "The password you are trying to remove from the user does not exist"
            }
            RuleError::BadHash => {
                "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
            }
        }
    }
}

/// Why a command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// The command is not allowed.
    Command,
    /// A key it names is not covered by the patterns.
    Key,
    /// A channel it names is not covered by the channel patterns.
    Channel,
}

/// A key pattern with the access it grants (`~p` = both, `%R~p`, `%W~p`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    /// Glob pattern.
    pub pattern: String,
    /// Reading allowed.
    pub read: bool,
    /// Writing allowed.
    pub write: bool,
}

impl KeyPattern {
    fn describe(&self) -> String {
        match (self.read, self.write) {
            (true, false) => format!("%R~{}", self.pattern),
            (false, true) => format!("%W~{}", self.pattern),
            _ => format!("~{}", self.pattern),
        }
    }
}

/// One user.
#[derive(Debug, Clone)]
pub struct User {
    /// Name.
    pub name: String,
    /// `on`: may authenticate.
    pub enabled: bool,
    /// `nopass`: any password authenticates.
    pub nopass: bool,
    /// `skip-sanitize-payload` (kept for compatibility; no effect).
    pub skip_sanitize: bool,
    /// SHA-256 hex digests of the passwords, in the order added.
    pub passwords: Vec<String>,
    /// Started from `+@all` (true) or `-@all`.
    all_base: bool,
    /// Command rules since the base, as given (lowercased).
    rules: Vec<String>,
    /// Full names of the allowed commands.
    allowed: HashSet<&'static str>,
    /// `allkeys` / `~*`.
    pub allkeys: bool,
    /// Key patterns (when not `allkeys`).
    pub keys: Vec<KeyPattern>,
    /// `allchannels` / `&*`.
    pub allchannels: bool,
    /// Channel patterns (no Pub/Sub yet; kept for ACL compatibility).
    pub channels: Vec<String>,
}

/// SHA-256 of `password` as 64 lowercase hex digits (Redis's form).
pub fn hash_password(password: &[u8]) -> String {
    let digest = Sha256::digest(password);
    let mut hex = String::with_capacity(64);
    for b in digest.iter() {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

fn valid_hash(h: &str) -> bool {
    h.len() == 64 && h.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

impl User {
    /// A new user as `ACL SETUSER name` creates it: off, no passwords, no
    /// commands, no keys.
    pub fn new(name: &str) -> User {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            skip_sanitize: false,
            passwords: Vec::new(),
            all_base: false,
            rules: Vec::new(),
            allowed: HashSet::new(),
            allkeys: false,
            keys: Vec::new(),
            allchannels: false,
            channels: Vec::new(),
        }
    }

    /// The built-in default user: on, nopass, every command and key.
    pub fn default_user() -> User {
        let mut u = User::new("default");
        for rule in ["on", "nopass", "+@all", "~*", "&*"] {
            u.apply(rule).expect("valid built-in rule");
        }
        u
    }

    /// Every command, key and channel: no per-command check needed.
    pub fn unrestricted(&self) -> bool {
        self.allkeys && self.allchannels && self.allowed.len() == ALL.len()
    }

    /// Whether `password` authenticates this user (enabled is checked by
    /// the caller). The comparison of digests takes the same time for any
    /// password of the same length.
    pub fn password_ok(&self, password: &[u8]) -> bool {
        if self.nopass {
            return true;
        }
        let h = hash_password(password);
        self.passwords.iter().fold(false, |ok, p| {
            ok | (p.bytes().zip(h.bytes()).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0)
        })
    }

    /// Applies one `ACL SETUSER` rule.
    pub fn apply(&mut self, rule: &str) -> Result<(), RuleError> {
        let lower = rule.to_ascii_lowercase();
        match lower.as_str() {
            "on" => self.enabled = true,
            "off" => self.enabled = false,
            "nopass" => {
                self.nopass = true;
                self.passwords.clear();
            }
            "resetpass" => {
                self.nopass = false;
                self.passwords.clear();
            }
            "sanitize-payload" => self.skip_sanitize = false,
            "skip-sanitize-payload" => self.skip_sanitize = true,
            "allkeys" => self.set_all_keys(),
            "resetkeys" => {
                self.allkeys = false;
                self.keys.clear();
            }
            "allchannels" => {
                self.allchannels = true;
                self.channels.clear();
            }
            "resetchannels" => {
                self.allchannels = false;
                self.channels.clear();
            }
            "allcommands" | "+@all" => self.set_base(true),
            "nocommands" | "-@all" => self.set_base(false),
            "clearselectors" => {}
            "reset" => {
                for r in [
                    "resetpass",
                    "resetkeys",
                    "resetchannels",
                    "off",
                    "sanitize-payload",
                    "-@all",
                ] {
                    self.apply(r)?;
                }
            }
            _ => return self.apply_prefixed(rule, &lower),
        }
        Ok(())
    }

    fn apply_prefixed(&mut self, rule: &str, lower: &str) -> Result<(), RuleError> {
        let Some(c) = rule.chars().next() else {
            return Err(RuleError::Syntax);
        };
        let (first, rest) = rule.split_at(c.len_utf8());
        match first {
            ">" => {
                let h = hash_password(rest.as_bytes());
                self.add_hash(h);
            }
            "<" => self.remove_hash(&hash_password(rest.as_bytes()))?,
            "#" => {
                if !valid_hash(rest) {
                    return Err(RuleError::BadHash);
                }
                self.add_hash(rest.to_string());
            }
            "!" => {
                if !valid_hash(rest) {
                    return Err(RuleError::BadHash);
                }
                self.remove_hash(rest)?;
            }
            "~" => self.add_key_pattern(rest, true, true)?,
            "%" => {
                let (perm, pattern) = rest.split_once('~').ok_or(RuleError::Syntax)?;
                let (mut read, mut write) = (false, false);
                for c in perm.chars() {
                    match c.to_ascii_uppercase() {
                        'R' => read = true,
                        'W' => write = true,
                        _ => return Err(RuleError::Syntax),
                    }
                }
                if !read && !write {
                    return Err(RuleError::Syntax);
                }
                self.add_key_pattern(pattern, read, write)?;
            }
            "&" => {
                if rest == "*" {
                    return self.apply("allchannels");
                }
                if rest.bytes().any(|c| c.is_ascii_whitespace() || c == 0) {
                    return Err(RuleError::Syntax);
                }
                if self.allchannels {
                    return Err(RuleError::AfterAllChannels);
                }
                if !self.channels.iter().any(|c| c == rest) {
                    self.channels.push(rest.to_string());
                }
            }
            "+" | "-" => self.command_rule(first == "+", &lower[1..])?,
            _ => return Err(RuleError::Syntax),
        }
        Ok(())
    }

    fn add_hash(&mut self, h: String) {
        self.nopass = false;
        if !self.passwords.contains(&h) {
            self.passwords.push(h);
        }
    }

    fn remove_hash(&mut self, h: &str) -> Result<(), RuleError> {
        self.nopass = false;
        let before = self.passwords.len();
        self.passwords.retain(|p| p != h);
        if self.passwords.len() == before {
            return Err(RuleError::NoSuchPassword);
        }
        Ok(())
    }

    fn set_all_keys(&mut self) {
        self.allkeys = true;
        self.keys.clear();
    }

    fn add_key_pattern(&mut self, pattern: &str, read: bool, write: bool) -> Result<(), RuleError> {
        if pattern.bytes().any(|c| c.is_ascii_whitespace() || c == 0) {
            return Err(RuleError::Syntax);
        }
        if self.allkeys {
            return Err(RuleError::AfterAllKeys);
        }
        if pattern == "*" && read && write {
            self.set_all_keys();
            return Ok(());
        }
        if let Some(p) = self.keys.iter_mut().find(|p| p.pattern == pattern) {
            p.read |= read;
            p.write |= write;
        } else {
            self.keys.push(KeyPattern {
                pattern: pattern.to_string(),
                read,
                write,
            });
        }
        Ok(())
    }

    fn set_base(&mut self, all: bool) {
        self.all_base = all;
        self.rules.clear();
        self.allowed = if all {
            ALL.iter().map(|c| c.name).collect()
        } else {
            HashSet::new()
        };
    }

    /// `+name`, `-name`, `+name|sub`, `+@category`, `-@category`.
    fn command_rule(&mut self, allow: bool, what: &str) -> Result<(), RuleError> {
        let targets: Vec<&'static str> = if let Some(cat) = what.strip_prefix('@') {
            if !CATEGORIES.contains(&cat) {
                return Err(RuleError::Unknown);
            }
            in_category(cat).map(|c| c.name).collect()
        } else if let Some((cmd, sub)) = what.split_once('|') {
            let spec = table::lookup(cmd.as_bytes()).ok_or(RuleError::Unknown)?;
            let sub = spec
                .subcommands
                .iter()
                .find(|s| s.sub_name() == sub)
                .ok_or(RuleError::Unknown)?;
            vec![sub.name]
        } else {
            let spec = table::lookup(what.as_bytes()).ok_or(RuleError::Unknown)?;
            std::iter::once(spec.name)
                .chain(spec.subcommands.iter().map(|s| s.name))
                .collect()
        };
        for name in targets {
            if allow {
                self.allowed.insert(name);
            } else {
                self.allowed.remove(name);
            }
        }
        if !what.starts_with('@') {
            // A later rule for the same command replaces the earlier one.
            self.rules.retain(|r| &r[1..] != what);
        }
        self.rules
            .push(format!("{}{}", if allow { '+' } else { '-' }, what));
        Ok(())
    }

    /// The command rules as ACL GETUSER shows them (`-@all +@read -keys`).
    pub fn describe_commands(&self) -> String {
        let mut s = String::from(if self.all_base { "+@all" } else { "-@all" });
        for r in &self.rules {
            s.push(' ');
            s.push_str(r);
        }
        s
    }

    /// The key patterns as ACL GETUSER shows them.
    pub fn describe_keys(&self) -> String {
        if self.allkeys {
            return "~*".into();
        }
        let parts: Vec<String> = self.keys.iter().map(KeyPattern::describe).collect();
        parts.join(" ")
    }

    /// The channel patterns as ACL GETUSER shows them.
    pub fn describe_channels(&self) -> String {
        if self.allchannels {
            return "&*".into();
        }
        let parts: Vec<String> = self.channels.iter().map(|c| format!("&{c}")).collect();
        parts.join(" ")
    }

    /// Flags as ACL GETUSER lists them.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut f = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            f.push("nopass");
        }
        f.push(if self.skip_sanitize {
            "skip-sanitize-payload"
        } else {
            "sanitize-payload"
        });
        f
    }

    /// The rules after `user <name>` in ACL LIST and the ACL file; applying
    /// them to a new user gives this user back.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.flags().iter().map(|f| f.to_string()).collect();
        parts.extend(self.passwords.iter().map(|h| format!("#{h}")));
        if self.allkeys {
            parts.push("~*".into());
        } else {
            parts.extend(self.keys.iter().map(KeyPattern::describe));
        }
        if self.allchannels {
            parts.push("&*".into());
        } else {
            parts.push("resetchannels".into());
            parts.extend(self.channels.iter().map(|c| format!("&{c}")));
        }
        parts.push(self.describe_commands());
        parts.join(" ")
    }

    /// May this user run the command `name` (at all)?
    pub fn may_run(&self, name: &str) -> bool {
        self.allowed.contains(name)
    }

    /// May this user run `spec` with `args`? `default_key` is the key a
    /// command without a key argument works on (`VSEARCH [..] k` searches
    /// the default set).
    pub fn check(
        &self,
        spec: &CommandSpec,
        args: &[Bytes],
        default_key: &[u8],
    ) -> Result<(), Denied> {
        if !self.allowed.contains(spec.name) {
            return Err(Denied::Command);
        }
        if !self.allchannels && !self.may_use_channels(spec.name, args) {
            return Err(Denied::Channel);
        }
        if self.allkeys {
            return Ok(());
        }
        if key_args(spec, args, default_key)
            .into_iter()
            .all(|k| self.may_access_for(spec, k))
        {
            Ok(())
        } else {
            Err(Denied::Key)
        }
    }

    /// Whether the channels of a Pub/Sub command are covered: a channel
    /// must match one of the patterns; a PSUBSCRIBE pattern must equal one
    /// (Redis's rule: a pattern could reach channels the user may not).
    fn may_use_channels(&self, cmd: &str, args: &[Bytes]) -> bool {
        let (names, literal): (&[Bytes], bool) = match cmd {
            "publish" | "spublish" => (&args[1..args.len().min(2)], false),
            "subscribe" | "ssubscribe" => (&args[1..], false),
            "psubscribe" => (&args[1..], true),
            _ => return true,
        };
        names.iter().all(|c| {
            self.channels.iter().any(|p| {
                if literal {
                    p.as_bytes() == &c[..]
                } else {
                    glob_match(p.as_bytes(), c)
                }
            })
        })
    }

    /// Whether `key` may be used by `spec`: write commands need W on their
    /// keys, read-only commands R, and commands flagged neither need both.
    pub fn may_access_for(&self, spec: &CommandSpec, key: &[u8]) -> bool {
        if self.allkeys {
            return true;
        }
        let write = spec.flags.contains(&"write");
        let need_w = write || !spec.flags.contains(&"readonly");
        let need_r = !write;
        self.keys.iter().any(|p| {
            (!need_r || p.read) && (!need_w || p.write) && glob_match(p.pattern.as_bytes(), key)
        })
    }

    /// Whether a query may read `key` (SQL's `vset()`, `vsim()`, `keyspace()`).
    pub fn may_read(&self, key: &[u8]) -> bool {
        self.allkeys
            || self
                .keys
                .iter()
                .any(|p| p.read && glob_match(p.pattern.as_bytes(), key))
    }
}

/// The key arguments of a command, by the table's (first, last, step).
pub fn key_args<'a>(spec: &CommandSpec, args: &'a [Bytes], default_key: &'a [u8]) -> Vec<&'a [u8]> {
    if spec.name == "vsearch" && args.get(1).is_some_and(|a| a.first() == Some(&b'[')) {
        return vec![default_key];
    }
    if matches!(
        spec.name,
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
    ) {
        // script numkeys key... arg...
        let n = args
            .get(2)
            .and_then(|n| std::str::from_utf8(n).ok()?.parse::<usize>().ok())
            .unwrap_or(0);
        return args.iter().skip(3).take(n).map(|a| &a[..]).collect();
    }
    if matches!(
        spec.name,
        "sintercard"
            | "lmpop"
            | "blmpop"
            | "zmpop"
            | "bzmpop"
            | "zunion"
            | "zinter"
            | "zdiff"
            | "zintercard"
            | "zunionstore"
            | "zinterstore"
            | "zdiffstore"
    ) {
        // [timeout | destination] numkeys key... options
        let at = usize::from(matches!(
            spec.name,
            "blmpop" | "bzmpop" | "zunionstore" | "zinterstore" | "zdiffstore"
        )) + 1;
        let dst = spec.name.ends_with("store").then(|| &args[1][..]);
        let n = args
            .get(at)
            .and_then(|n| std::str::from_utf8(n).ok()?.parse::<usize>().ok())
            .unwrap_or(0);
        return dst
            .into_iter()
            .chain(args.iter().skip(at + 1).take(n).map(|a| &a[..]))
            .collect();
    }
    if matches!(spec.name, "sort" | "georadius" | "georadiusbymember") {
        // key [... STORE destination ...] (GEORADIUS: or STOREDIST)
        let store = args
            .windows(2)
            .skip(2)
            .find(|w| {
                w[0].eq_ignore_ascii_case(b"store")
                    || (spec.name != "sort" && w[0].eq_ignore_ascii_case(b"storedist"))
            })
            .map(|w| &w[1][..]);
        return args
            .get(1)
            .map(|k| &k[..])
            .into_iter()
            .chain(store)
            .collect();
    }
    if matches!(spec.name, "xread" | "xreadgroup") {
        // ... STREAMS key [key ...] id [id ...]
        let Some(at) = args
            .iter()
            .skip(1)
            .position(|a| a.eq_ignore_ascii_case(b"streams"))
        else {
            return Vec::new();
        };
        let rest = &args[at + 2..];
        return rest[..rest.len() / 2].iter().map(|a| &a[..]).collect();
    }
    if spec.name == "msetex" {
        // numkeys key value [key value ...] [options]
        let n = args
            .get(1)
            .and_then(|n| std::str::from_utf8(n).ok()?.parse::<usize>().ok())
            .unwrap_or(0);
        return args
            .iter()
            .skip(2)
            .step_by(2)
            .take(n)
            .map(|a| &a[..])
            .collect();
    }
    let (first, last, step) = spec.keys;
    if first <= 0 || step <= 0 {
        return Vec::new();
    }
    let argc = args.len() as i32;
    let last = if last < 0 { argc + last } else { last };
    let mut keys = Vec::new();
    let mut i = first;
    while i <= last && i < argc {
        keys.push(&args[i as usize][..]);
        i += step;
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(rules: &[&str]) -> User {
        let mut u = User::new("u");
        for r in rules {
            u.apply(r).unwrap();
        }
        u
    }

    fn args(a: &[&str]) -> Vec<Bytes> {
        a.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    fn may(u: &User, a: &[&str]) -> Result<(), Denied> {
        let a = args(a);
        let spec = table::lookup(&a[0]).unwrap();
        let spec = spec
            .subcommands
            .iter()
            .find(|s| {
                a.len() > 1
                    && s.sub_name()
                        .eq_ignore_ascii_case(&String::from_utf8_lossy(&a[1]))
            })
            .unwrap_or(spec);
        u.check(spec, &a, b"default-set")
    }

    #[test]
    fn categories_and_commands_apply_in_order() {
        let u = user(&["on", "+@read", "-vsim", "~*"]);
        assert_eq!(may(&u, &["get", "k"]), Ok(()));
        assert_eq!(may(&u, &["vcard", "k"]), Ok(()));
        assert_eq!(may(&u, &["vsim", "k", "ELE", "a"]), Err(Denied::Command));
        assert_eq!(may(&u, &["set", "k", "v"]), Err(Denied::Command));
        assert_eq!(u.describe_commands(), "-@all +@read -vsim");
        let u = user(&["+@all", "-@dangerous", "+flushdb"]);
        assert_eq!(may(&u, &["flushall"]), Err(Denied::Command));
        assert_eq!(may(&u, &["flushdb"]), Ok(()));
        let u = user(&["+config|get", "allkeys"]);
        assert_eq!(may(&u, &["config", "get", "port"]), Ok(()));
        assert_eq!(
            may(&u, &["config", "set", "port", "1"]),
            Err(Denied::Command)
        );
        // A repeated command rule replaces the earlier one.
        let u = user(&["+get", "+set", "-get", "+get"]);
        assert_eq!(u.describe_commands(), "-@all +set +get");
    }

    #[test]
    fn key_patterns_by_access() {
        let u = user(&["+@all", "~cache:*", "%R~ro:*", "%W~wo:*"]);
        assert_eq!(may(&u, &["get", "cache:1"]), Ok(()));
        assert_eq!(may(&u, &["get", "other"]), Err(Denied::Key));
        assert_eq!(
            may(&u, &["mset", "cache:1", "a", "other", "b"]),
            Err(Denied::Key)
        );
        assert_eq!(may(&u, &["get", "ro:1"]), Ok(()));
        assert_eq!(may(&u, &["set", "ro:1", "v"]), Err(Denied::Key));
        assert_eq!(may(&u, &["set", "wo:1", "v"]), Ok(()));
        assert_eq!(may(&u, &["get", "wo:1"]), Err(Denied::Key));
        assert_eq!(may(&u, &["vsearch", "[1,2]", "3"]), Err(Denied::Key));
        assert_eq!(may(&u, &["vsearch", "cache:v", "[1,2]", "3"]), Ok(()));
        assert_eq!(may(&u, &["ping"]), Ok(()));
        assert!(u.may_read(b"ro:x") && !u.may_read(b"wo:x"));
        assert_eq!(u.describe_keys(), "~cache:* %R~ro:* %W~wo:*");
        let mut u = user(&["allkeys"]);
        assert_eq!(u.apply("~x"), Err(RuleError::AfterAllKeys));
    }

    #[test]
    fn passwords_are_hashed_and_checked() {
        let mut u = user(&["on", ">s3cret", ">other"]);
        assert!(u.password_ok(b"s3cret") && u.password_ok(b"other"));
        assert!(!u.password_ok(b"wrong") && !u.password_ok(b""));
        assert_eq!(u.passwords[0], hash_password(b"s3cret"));
        assert!(!u.describe().contains("s3cret"));
        u.apply("<other").unwrap();
        assert!(!u.password_ok(b"other"));
        assert_eq!(u.apply("<other"), Err(RuleError::NoSuchPassword));
        assert_eq!(u.apply("#abc"), Err(RuleError::BadHash));
        assert_eq!(
            u.apply(&format!("#{}", "A".repeat(64))),
            Err(RuleError::BadHash)
        );
        u.apply("nopass").unwrap();
        assert!(u.password_ok(b"anything") && u.passwords.is_empty());
    }

    #[test]
    fn errors_and_description_round_trip() {
        let mut u = User::new("u");
        assert_eq!(u.apply("+nosuch"), Err(RuleError::Unknown));
        assert_eq!(u.apply("+@nosuch"), Err(RuleError::Unknown));
        assert_eq!(u.apply("+config|nosuch"), Err(RuleError::Unknown));
        assert_eq!(u.apply("bogus"), Err(RuleError::Syntax));
        assert_eq!(u.apply(""), Err(RuleError::Syntax));
        assert_eq!(u.apply("\u{e9}t\u{e9}"), Err(RuleError::Syntax));
        assert_eq!(u.apply("+\u{e9}"), Err(RuleError::Unknown));
        assert_eq!(u.apply(">\u{e9}"), Ok(()));
        assert_eq!(u.apply("%X~k"), Err(RuleError::Syntax));
        let u = user(&[
            "on", ">pw", "~a:*", "%R~b:*", "&ch", "+@read", "-get", "+set",
        ]);
        assert_eq!(
            u.describe(),
            format!(
                "on sanitize-payload #{} ~a:* %R~b:* resetchannels &ch -@all +@read -get +set",
                hash_password(b"pw")
            )
        );
        let mut again = User::new("u");
        for r in u.describe().split(' ') {
            again.apply(r).unwrap();
        }
        assert_eq!(again.describe(), u.describe());
        assert_eq!(again.allowed, u.allowed);
        assert_eq!(
            User::default_user().describe(),
            "on nopass sanitize-payload ~* &* +@all"
        );
        assert!(User::default_user().unrestricted());
        let r = user(&["reset"]);
        assert_eq!(r.describe(), "off sanitize-payload resetchannels -@all");
    }
}
