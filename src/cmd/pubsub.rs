//! Pub/Sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE
//! SSUBSCRIBE SUNSUBSCRIBE PUBLISH SPUBLISH PUBSUB (the registry is
//! [`crate::pubsub`]).
//!
//! Subscription replies are one message per channel: a push frame in RESP3,
//! an array in RESP2. A RESP2 connection with a subscription accepts only
//! the subscription commands, PING (answered `["pong", msg]`), QUIT and
//! RESET, as in Redis.

use bytes::Bytes;
use vexlake_protocol::Protocol;

use super::table::{BASE, CommandSpec};
use super::{CmdResult, Ctx};
use crate::pubsub::{Kind, Push};
use vexlake_protocol::ReplyBuf;

/// Commands a RESP2 connection may run while subscribed.
pub fn allowed_while_subscribed(name: &str) -> bool {
    matches!(
        name,
        "subscribe"
            | "unsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "ssubscribe"
            | "sunsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

/// Writes a message for a subscriber.
pub fn write_push(out: &mut ReplyBuf, m: &Push, subscribed: bool) {
    match m {
        Push::Monitor(line) => out.simple(&String::from_utf8_lossy(line)),
        Push::RedirBroken(id) => {
            // RESP3 only, as in Redis.
            if out.protocol() == vexlake_protocol::Protocol::Resp3 {
                out.push(2);
                out.bulk(b"tracking-redir-broken");
                out.int(*id as i64);
            }
        }
        Push::Invalidate(keys) => {
            // RESP3: a push of its own; RESP2: a message on the tracking
            // channel, only to a subscriber (see `crate::tracking`).
            if out.protocol() == vexlake_protocol::Protocol::Resp3 {
                out.push(2);
                out.bulk(b"invalidate");
            } else if subscribed {
                out.push(3);
                out.bulk(b"message");
                out.bulk(crate::tracking::CHANNEL);
            } else {
                return;
            }
            match keys {
                Some(keys) => {
                    out.array(keys.len());
                    for k in keys {
                        out.bulk(k);
                    }
                }
                None => out.null_array(),
            }
        }
        Push::Message(ch, payload) => {
            out.push(3);
            out.bulk(b"message");
            out.bulk(ch);
            out.bulk(payload);
        }
        Push::PMessage(pattern, ch, payload) => {
            out.push(4);
            out.bulk(b"pmessage");
            out.bulk(pattern);
            out.bulk(ch);
            out.bulk(payload);
        }
        Push::SMessage(ch, payload) => {
            out.push(3);
            out.bulk(b"smessage");
            out.bulk(ch);
            out.bulk(payload);
        }
    }
}

fn confirm(ctx: &mut Ctx<'_>, what: &str, name: Option<&[u8]>, kind: Kind) {
    let count = match kind {
        Kind::Shard => ctx.conn.subs.shard.len(),
        _ => ctx.conn.subs.count(),
    };
    ctx.out.push(3);
    ctx.out.bulk(what.as_bytes());
    match name {
        Some(n) => ctx.out.bulk(n),
        None => ctx.out.null(),
    }
    ctx.out.int(count as i64);
}

fn subscribe_kind(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind, what: &str) -> CmdResult {
    let id = ctx.conn.handle.id;
    for name in &args[1..] {
        if !ctx.conn.subs.list(kind).contains(name) {
            ctx.conn.subs.list(kind).push(name.clone());
            ctx.state
                .pubsub
                .subscribe(kind, name, id, &ctx.conn.mailbox);
        }
        confirm(ctx, what, Some(name), kind);
    }
    Ok(())
}

fn unsubscribe_kind(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind, what: &str) -> CmdResult {
    let id = ctx.conn.handle.id;
    let names: Vec<Bytes> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        ctx.conn.subs.list(kind).clone()
    };
    if names.is_empty() {
        confirm(ctx, what, None, kind);
        return Ok(());
    }
    for name in &names {
        let list = ctx.conn.subs.list(kind);
        if let Some(pos) = list.iter().position(|n| n == name) {
            list.remove(pos);
            ctx.state.pubsub.unsubscribe(kind, name, id);
        }
        confirm(ctx, what, Some(name), kind);
    }
    Ok(())
}

/// SUBSCRIBE channel [channel ...]
pub fn subscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Channel, "subscribe")
}

/// PSUBSCRIBE pattern [pattern ...]
pub fn psubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Pattern, "psubscribe")
}

/// SSUBSCRIBE shardchannel [shardchannel ...]
pub fn ssubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Shard, "ssubscribe")
}

/// UNSUBSCRIBE [channel ...]
pub fn unsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Channel, "unsubscribe")
}

/// PUNSUBSCRIBE [pattern ...]
pub fn punsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Pattern, "punsubscribe")
}

/// SUNSUBSCRIBE [shardchannel ...]
pub fn sunsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Shard, "sunsubscribe")
}

/// Leaves every subscription (RESET, connection close).
pub fn unsubscribe_all(ctx: &mut Ctx<'_>) {
    let subs = std::mem::take(&mut ctx.conn.subs);
    ctx.state.pubsub.remove_client(ctx.conn.handle.id, &subs);
}

/// PUBLISH channel message
pub fn publish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = ctx.state.pubsub.publish(&args[1], &args[2]);
    ctx.out.int(n as i64);
    Ok(())
}

/// SPUBLISH shardchannel message
pub fn spublish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = ctx.state.pubsub.publish_shard(&args[1], &args[2]);
    ctx.out.int(n as i64);
    Ok(())
}

fn channels_of(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind) -> CmdResult {
    let list = ctx.state.pubsub.active(kind, args.get(2).map(|p| &p[..]));
    ctx.out.array(list.len());
    for c in &list {
        ctx.out.bulk(c);
    }
    Ok(())
}

fn numsub_of(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind) -> CmdResult {
    // A flat array in RESP3 too, as Redis.
    ctx.out.array(2 * (args.len() - 2));
    for c in &args[2..] {
        ctx.out.bulk(c);
        ctx.out.int(ctx.state.pubsub.count(kind, c) as i64);
    }
    Ok(())
}

/// PUBSUB CHANNELS [pattern]
pub fn pubsub_channels(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    channels_of(ctx, args, Kind::Channel)
}

/// PUBSUB SHARDCHANNELS [pattern]
pub fn pubsub_shardchannels(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    channels_of(ctx, args, Kind::Shard)
}

/// PUBSUB NUMSUB [channel ...]
pub fn pubsub_numsub(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    numsub_of(ctx, args, Kind::Channel)
}

/// PUBSUB SHARDNUMSUB [shardchannel ...]
pub fn pubsub_shardnumsub(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    numsub_of(ctx, args, Kind::Shard)
}

/// PUBSUB NUMPAT
pub fn pubsub_numpat(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.int(ctx.state.pubsub.patterns() as i64);
    Ok(())
}

/// PING while subscribed in RESP2: `["pong", message]`.
pub fn subscribed_ping(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    ctx.out.array(2);
    ctx.out.bulk(b"pong");
    ctx.out.bulk(args.get(1).map_or(&b""[..], |a| &a[..]));
}

/// True when `out` speaks RESP2 (subscribed mode applies).
pub fn resp2(out: &ReplyBuf) -> bool {
    out.protocol() == Protocol::Resp2
}

const SUB_FLAGS: &[&str] = &["pubsub", "noscript", "loading", "stale"];

/// The pub/sub commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "subscribe",
        arity: -2,
        flags: SUB_FLAGS,
        acl: &["@pubsub", "@slow"],
        group: "pubsub",
        since: "2.0.0",
        summary: "Listens for messages published to channels.",
        complexity: "O(N) where N is the number of channels to subscribe to.",
        syntax: "channel...",
        handler: subscribe,
        ..BASE
    },
    CommandSpec {
        name: "unsubscribe",
        arity: -1,
        flags: SUB_FLAGS,
        acl: &["@pubsub", "@slow"],
        group: "pubsub",
        since: "2.0.0",
        summary: "Stops listening to messages posted to channels.",
        complexity: "O(N) where N is the number of channels to unsubscribe.",
        syntax: "[channel...]",
        handler: unsubscribe,
        ..BASE
    },
    CommandSpec {
        name: "psubscribe",
        arity: -2,
        flags: SUB_FLAGS,
        acl: &["@pubsub", "@slow"],
        group: "pubsub",
        since: "2.0.0",
        summary: "Listens for messages published to channels that match one or more patterns.",
        complexity: "O(N) where N is the number of patterns to subscribe to.",
        syntax: "pattern...",
        handler: psubscribe,
        ..BASE
    },
    CommandSpec {
        name: "punsubscribe",
        arity: -1,
        flags: SUB_FLAGS,
        acl: &["@pubsub", "@slow"],
        group: "pubsub",
        since: "2.0.0",
        summary: "Stops listening to messages published to channels that match one or more patterns.",
        complexity: "O(N) where N is the number of patterns to unsubscribe.",
        syntax: "[pattern...]",
        handler: punsubscribe,
        ..BASE
    },
    CommandSpec {
        name: "ssubscribe",
        arity: -2,
        flags: SUB_FLAGS,
        keys: (1, -1, 1),
        acl: &["@pubsub", "@slow"],
        group: "pubsub",
        since: "7.0.0",
        summary: "Listens for messages published to shard channels.",
        complexity: "O(N) where N is the number of shard channels to subscribe to.",
        syntax: "shardchannel...",
        handler: ssubscribe,
        ..BASE
    },
    CommandSpec {
        name: "sunsubscribe",
        arity: -1,
        flags: SUB_FLAGS,
        keys: (1, -1, 1),
        acl: &["@pubsub", "@slow"],
        group: "pubsub",
        since: "7.0.0",
        summary: "Stops listening to messages posted to shard channels.",
        complexity: "O(N) where N is the number of shard channels to unsubscribe.",
        syntax: "[shardchannel...]",
        handler: sunsubscribe,
        ..BASE
    },
    CommandSpec {
        name: "publish",
        arity: 3,
        flags: &["pubsub", "loading", "stale", "fast"],
        acl: &["@pubsub", "@fast"],
        group: "pubsub",
        since: "2.0.0",
        summary: "Posts a message to a channel.",
        complexity: "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
        syntax: "channel message",
        handler: publish,
        ..BASE
    },
    CommandSpec {
        name: "spublish",
        arity: 3,
        flags: &["pubsub", "loading", "stale", "fast"],
        keys: (1, 1, 1),
        acl: &["@pubsub", "@fast"],
        group: "pubsub",
        since: "7.0.0",
        summary: "Post a message to a shard channel",
        complexity: "O(N) where N is the number of clients subscribed to the receiving shard channel.",
        syntax: "shardchannel message",
        handler: spublish,
        ..BASE
    },
    CommandSpec {
        name: "pubsub",
        arity: -2,
        acl: &["@slow"],
        group: "pubsub",
        since: "2.8.0",
        summary: "A container for Pub/Sub commands.",
        complexity: "Depends on subcommand.",
        subcommands: PUBSUB_SUBCOMMANDS,
        ..BASE
    },
];

const INTRO: &[&str] = &["pubsub", "loading", "stale"];

static PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "pubsub|channels",
        arity: -2,
        flags: INTRO,
        acl: &["@pubsub", "@slow"],
        group: "pubsub",
        since: "2.8.0",
        summary: "Returns the active channels.",
        complexity: "O(N) where N is the number of active channels",
        syntax: "[pattern:pattern]",
        handler: pubsub_channels,
        ..BASE
    },
    CommandSpec {
        name: "pubsub|numsub",
        arity: -2,
        flags: INTRO,
        acl: &["@pubsub", "@slow"],
        group: "pubsub",
        since: "2.8.0",
        summary: "Returns a count of subscribers to channels.",
        complexity: "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
        syntax: "[channel...]",
        handler: pubsub_numsub,
        ..BASE
    },
    CommandSpec {
        name: "pubsub|numpat",
        arity: 2,
        flags: INTRO,
        acl: &["@pubsub", "@slow"],
        group: "pubsub",
        since: "2.8.0",
        summary: "Returns a count of unique pattern subscriptions.",
        handler: pubsub_numpat,
        ..BASE
    },
    CommandSpec {
        name: "pubsub|shardchannels",
        arity: -2,
        flags: INTRO,
        acl: &["@pubsub", "@slow"],
        group: "pubsub",
        since: "7.0.0",
        summary: "Returns the active shard channels.",
        complexity: "O(N) where N is the number of active shard channels",
        syntax: "[pattern:pattern]",
        handler: pubsub_shardchannels,
        ..BASE
    },
    CommandSpec {
        name: "pubsub|shardnumsub",
        arity: -2,
        flags: INTRO,
        acl: &["@pubsub", "@slow"],
        group: "pubsub",
        since: "7.0.0",
        summary: "Returns the count of subscribers of shard channels.",
        complexity: "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
        syntax: "[shardchannel...]",
        handler: pubsub_shardnumsub,
        ..BASE
    },
];
