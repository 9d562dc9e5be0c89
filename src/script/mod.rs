//! Lua scripting (EVAL, EVALSHA, SCRIPT): one Lua 5.1 interpreter for the
//! server, as in Redis.
//!
//! A script runs with the engine's gate held exclusively
//! ([`Engine::atomically`](vexlake_engine::Engine::atomically)): no other
//! command runs meanwhile, and everything its commands change is one WAL
//! record, so after a crash its effects are there whole or not at all.
//! Commands called with `redis.call` run through the normal dispatch (ACL,
//! arity, READONLY), on the calling connection with its user; `SELECT`
//! inside a script does not change the caller's database.
//!
//! The interpreter has Lua's base, table, string and math libraries, plus
//! `cjson` and `bit` ([`libs`]); `os`, `io`, `package`/`require`,
//! `loadfile` and `dofile` are absent. Globals are read-only: reading an
//! undefined one or assigning one is an error, as in Redis 7.
//!
//! A hook runs every 1,000 instructions: once a script has run longer than
//! `busy-reply-threshold`, other clients get `-BUSY` and `SCRIPT KILL`
//! stops it (unless it already wrote: `-UNKILLABLE`).
//!
//! # Layout
//! - [`redis_lib`]: the `redis` table scripts call.
//! - [`convert`]: command replies to Lua values and Lua values to replies.
//! - [`libs`]: `cjson` and `bit`.
//! - [`functions`]: function libraries (FUNCTION LOAD, FCALL).

pub mod convert;
pub mod functions;
pub mod libs;
pub mod redis_lib;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use mlua::{HookTriggers, Lua, LuaOptions, StdLib, VmState};
use parking_lot::Mutex;
use sha1::{Digest, Sha1};

/// The hex SHA1 of `body` (the script's name for EVALSHA).
pub fn sha1hex(body: &[u8]) -> String {
    let digest = Sha1::digest(body);
    let mut s = String::with_capacity(40);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// What the hook and SCRIPT KILL share about the running script.
#[derive(Debug, Default)]
pub struct Running {
    /// A script is running.
    active: AtomicBool,
    /// Start of the running script, ms since `epoch`.
    started_ms: AtomicU64,
    /// It ran past the threshold: other clients get `-BUSY`.
    busy: AtomicBool,
    /// SCRIPT KILL asked to stop it.
    kill: AtomicBool,
    /// It ran a write command (SCRIPT KILL refuses).
    wrote: AtomicBool,
    /// An idle async worker was woken to serve others (long script).
    handed_off: AtomicBool,
    /// `busy-reply-threshold` in ms.
    threshold_ms: AtomicU64,
    /// While a library's top level runs (FUNCTION LOAD): when it must
    /// stop, ms since `epoch` (0: not loading).
    load_deadline_ms: AtomicU64,
    /// The running function and the command that called it (FUNCTION
    /// STATS); None while an EVAL script runs.
    function: Mutex<Option<(String, Vec<Bytes>)>>,
}

/// How long a library's top level may run at FUNCTION LOAD (Redis's).
const LOAD_TIMEOUT_MS: u64 = 500;

static EPOCH: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);

fn now_ms() -> u64 {
    EPOCH.elapsed().as_millis() as u64
}

impl Running {
    /// Changes `busy-reply-threshold` (CONFIG SET).
    pub fn set_threshold(&self, ms: u64) {
        self.threshold_ms.store(ms, Ordering::Relaxed);
    }

    /// True when a script has run past `busy-reply-threshold`.
    pub fn busy(&self) -> bool {
        self.busy.load(Ordering::Relaxed)
    }

    /// True while a script runs.
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Notes that the running script wrote.
    pub fn wrote(&self) {
        self.wrote.store(true, Ordering::Relaxed);
    }

    /// The running function's name and command (None for EVAL scripts and
    /// when nothing runs).
    pub fn function(&self) -> Option<(String, Vec<Bytes>)> {
        if !self.active() {
            return None;
        }
        self.function.lock().clone()
    }

    /// Milliseconds the running script has run.
    pub fn duration_ms(&self) -> u64 {
        now_ms().saturating_sub(self.started_ms.load(Ordering::Relaxed))
    }

    /// Called by the hook: marks the script busy past the threshold, and
    /// fails it when SCRIPT KILL asked.
    fn check(&self) -> mlua::Result<VmState> {
        let deadline = self.load_deadline_ms.load(Ordering::Relaxed);
        if deadline != 0 {
            if now_ms() > deadline {
                return Err(mlua::Error::runtime("FUNCTION LOAD timeout"));
            }
            return Ok(VmState::Continue);
        }
        if !self.busy.load(Ordering::Relaxed) {
            let ran = now_ms().saturating_sub(self.started_ms.load(Ordering::Relaxed));
            if ran >= crate::cmd::WAKE_WORKER_AFTER.as_millis() as u64
                && !self.handed_off.swap(true, Ordering::Relaxed)
            {
                // Another worker must poll the sockets meanwhile (SCRIPT
                // KILL, -BUSY replies).
                crate::cmd::wake_idle_worker();
            }
            if ran >= self.threshold_ms.load(Ordering::Relaxed) {
                self.busy.store(true, Ordering::Relaxed);
                tracing::warn!(ms = ran, "a script is still running: clients get -BUSY");
            }
        }
        if self.kill.load(Ordering::Relaxed) {
            return Err(mlua::Error::runtime(KILLED));
        }
        Ok(VmState::Continue)
    }
}

/// SCRIPT KILL / FUNCTION KILL of a script that already wrote.
pub const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";

/// The error a killed script ends with.
pub const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

/// Outcome of SCRIPT KILL.
pub enum Kill {
    /// The script will stop at its next hook.
    Killed,
    /// No script is running.
    NotBusy,
    /// The script already wrote.
    Unkillable,
}

/// The interpreter, the scripts it knows, and the running script's state.
pub struct Scripts {
    lua: Mutex<Lua>,
    /// SHA1 → body of every loaded script (SCRIPT EXISTS, EVALSHA).
    bodies: Mutex<HashMap<String, Bytes>>,
    /// The compiled function libraries.
    registry: Mutex<functions::Registry>,
    /// Held by a change to the libraries from reading them to committing
    /// the new list, so concurrent changes do not lose each other's.
    changing: Mutex<()>,
    /// The running script.
    pub running: Arc<Running>,
}

impl std::fmt::Debug for Scripts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripts").finish_non_exhaustive()
    }
}

impl Scripts {
    /// A fresh interpreter; scripts running longer than `threshold_ms`
    /// make the server busy.
    pub fn new(threshold_ms: u64) -> Self {
        let running = Arc::new(Running::default());
        running.threshold_ms.store(threshold_ms, Ordering::Relaxed);
        Scripts {
            lua: Mutex::new(new_lua(&running).expect("the Lua interpreter starts")),
            bodies: Mutex::new(HashMap::new()),
            registry: Mutex::new(functions::Registry::default()),
            changing: Mutex::new(()),
            running,
        }
    }

    /// The compiled function libraries, rebuilt first when the engine's
    /// libraries changed since (a load elsewhere, a restart, a replica's
    /// refresh). A library that no longer loads is left out, with a
    /// warning.
    pub fn functions(
        &self,
        engine: &vexlake_engine::Engine,
    ) -> parking_lot::MutexGuard<'_, functions::Registry> {
        let mut reg = self.registry.lock();
        let (generation, libs) = engine.functions().get();
        if reg.generation != Some(generation) {
            *reg = match self.build_functions(&libs, generation) {
                Ok(built) => built,
                Err(_) => {
                    let mut kept = Vec::with_capacity(libs.len());
                    for lib in libs.iter() {
                        kept.push(lib.clone());
                        if let Err(e) = self.build_functions(&kept, generation) {
                            tracing::warn!(library = %lib.name, error = %e, "function library left out");
                            kept.pop();
                        }
                    }
                    self.build_functions(&kept, generation).unwrap_or_default()
                }
            };
        }
        reg
    }

    /// Compiles `libs` (each library's top level run once, at most
    /// 500 ms each) into a registry for engine generation `generation`.
    pub fn build_functions(
        &self,
        libs: &[vexlake_engine::functions::Library],
        generation: u64,
    ) -> Result<functions::Registry, String> {
        let lua = self.lua.lock();
        let r = &self.running;
        r.load_deadline_ms
            .store(now_ms() + LOAD_TIMEOUT_MS, Ordering::Relaxed);
        let built = functions::build(&lua, libs, generation);
        r.load_deadline_ms.store(0, Ordering::Relaxed);
        built
    }

    /// Serializes changes to the libraries (FUNCTION LOAD, DELETE, ...).
    pub fn lock_changes(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.changing.lock()
    }

    /// Libraries and functions of the compiled copy as it is (no
    /// rebuild: for FUNCTION STATS while a function runs).
    pub fn function_counts(&self) -> (usize, usize) {
        let reg = self.registry.lock();
        (reg.libraries.len(), reg.function_count())
    }

    /// Installs a registry built by [`Scripts::build_functions`] for the
    /// engine's current generation.
    pub fn set_functions(&self, reg: functions::Registry) {
        *self.registry.lock() = reg;
    }

    /// Compiles `body` and remembers it; returns its SHA1, or the compile
    /// error (Redis's text).
    pub fn load(&self, body: &Bytes) -> Result<String, String> {
        let sha = sha1hex(body);
        if self.bodies.lock().contains_key(&sha) {
            return Ok(sha);
        }
        let lua = self.lua.lock();
        compile(&lua, &sha, body)?;
        self.bodies.lock().insert(sha.clone(), body.clone());
        Ok(sha)
    }

    /// Whether a script with this SHA1 is loaded.
    pub fn exists(&self, sha: &[u8]) -> bool {
        std::str::from_utf8(sha)
            .is_ok_and(|s| self.bodies.lock().contains_key(&s.to_ascii_lowercase()))
    }

    /// Forgets every script (SCRIPT FLUSH) and starts a fresh interpreter.
    pub fn flush(&self) {
        let mut lua = self.lua.lock();
        if let Ok(fresh) = new_lua(&self.running) {
            *lua = fresh;
        }
        self.bodies.lock().clear();
        drop(lua);
        // The functions lived in the old interpreter: compile them again.
        self.registry.lock().generation = None;
    }

    /// Number of loaded scripts and their total size (INFO memory).
    pub fn stats(&self) -> (usize, usize) {
        let b = self.bodies.lock();
        (b.len(), b.values().map(|v| v.len()).sum())
    }

    /// Asks the running script to stop (SCRIPT KILL).
    pub fn kill(&self) -> Kill {
        let r = &self.running;
        if !r.active.load(Ordering::Relaxed) {
            Kill::NotBusy
        } else if r.wrote.load(Ordering::Relaxed) {
            Kill::Unkillable
        } else {
            r.kill.store(true, Ordering::Relaxed);
            Kill::Killed
        }
    }

    /// Runs `f` with the interpreter, marking a script as running for its
    /// duration (the hook's clock starts now); `function`: the function
    /// and the command calling it, for FUNCTION STATS.
    pub fn with_lua<R>(
        &self,
        function: Option<(String, Vec<Bytes>)>,
        f: impl FnOnce(&Lua) -> R,
    ) -> R {
        let lua = self.lua.lock();
        let r = &self.running;
        *r.function.lock() = function;
        r.started_ms.store(now_ms(), Ordering::Relaxed);
        r.busy.store(false, Ordering::Relaxed);
        r.kill.store(false, Ordering::Relaxed);
        r.wrote.store(false, Ordering::Relaxed);
        r.handed_off.store(false, Ordering::Relaxed);
        r.active.store(true, Ordering::Relaxed);
        struct Done<'a>(&'a Running);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.active.store(false, Ordering::Relaxed);
                self.0.busy.store(false, Ordering::Relaxed);
                self.0.kill.store(false, Ordering::Relaxed);
            }
        }
        let _done = Done(r);
        f(&lua)
    }

    /// The body of a loaded script.
    pub fn body(&self, sha: &str) -> Option<Bytes> {
        self.bodies.lock().get(sha).cloned()
    }
}

/// The registry name of a compiled script.
pub fn function_name(sha: &str) -> String {
    format!("f_{sha}")
}

/// Compiles `body` into the registry under [`function_name`].
pub fn compile(lua: &Lua, sha: &str, body: &[u8]) -> Result<(), String> {
    // A shebang line (`#!lua ...`) is skipped, its line feed kept so line
    // numbers stay right.
    let code = if body.starts_with(b"#!") {
        let nl = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
        &body[nl..]
    } else {
        body
    };
    let f = lua
        .load(code)
        .set_name("@user_script")
        .into_function()
        .map_err(|e| {
            format!(
                "ERR Error compiling script (new function): {}",
                first_line(&e.to_string())
            )
        })?;
    lua.set_named_registry_value(&function_name(sha), f)
        .map_err(|e| format!("ERR {e}"))
}

/// The message of an error, without mlua's prefixes and traceback.
pub fn first_line(msg: &str) -> String {
    let msg = msg.split("\nstack traceback:").next().unwrap_or(msg);
    let msg = msg
        .strip_prefix("runtime error: ")
        .or_else(|| msg.strip_prefix("syntax error: "))
        .unwrap_or(msg);
    msg.trim_end().to_string()
}

const PROTECT_GLOBALS: &str = r#"
local mt = {}
mt.__index = function(_, name)
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end
mt.__newindex = function(_, name)
  error("Attempt to modify a readonly table", 2)
end
setmetatable(_G, mt)
"#;

fn new_lua(running: &Arc<Running>) -> mlua::Result<Lua> {
    let lua = Lua::new_with(
        StdLib::TABLE | StdLib::STRING | StdLib::MATH,
        LuaOptions::default(),
    )?;
    let g = lua.globals();
    for name in ["loadfile", "dofile", "require", "module"] {
        g.raw_set(name, mlua::Value::Nil)?;
    }
    libs::install(&lua)?;
    redis_lib::install(&lua)?;
    lua.load(PROTECT_GLOBALS).set_name("=protect").exec()?;
    let r = running.clone();
    lua.set_hook(
        HookTriggers::new().every_nth_instruction(1000),
        move |_, _| r.check(),
    )?;
    Ok(lua)
}
