//! End-to-end tests: each starts a real `vexlake` process on 127.0.0.1 and
//! speaks RESP to it over TCP (raw bytes, and the real `redis-cli`).
//! redis-py is exercised by `tests/python/`. `fuzz` runs in process: the
//! parser, FILTER compiler and command handlers with random input.

mod cli;
mod clients;
mod connection;
mod eviction;
mod functions;
mod fuzz;
mod generic;
mod keys;
mod lake;
mod lifecycle;
mod notifications;
mod persistence;
mod protocol;
mod pubsub;
mod recall;
mod scripting;
mod server_cmds;
mod sql;
mod storage;
mod strings;
mod support;
mod transactions;
mod vectors;
