//! Vector sets: Redis 8 compatible sets of named vectors with JSON
//! attributes, searched through an HNSW graph.
//!
//! # Layout
//! - [`distance`]: SIMD kernels (simsimd) with scalar references.
//! - [`quant`]: normalization, the NOQUANT / Q8 / BIN encodings and their
//!   cosine distance.
//! - [`hnsw`]: the graph (insert, search, filtered search, exact scan, delete).
//! - [`filter`]: the FILTER expression language over JSON attributes.
//! - [`index_file`]: the documented binary file of a whole set (loads
//!   without rebuilding the graph).
//! - [`index_delta`]: the slots changed since a set's last commit, applied
//!   on top of an index file (incremental commits).
//! - [`rows`]: a set's element data copied out for encoding unlocked.
//! - [`set`]: [`VectorSet`]: element names, attributes, projection, the graph.

pub mod distance;
pub mod filter;
pub mod hnsw;
pub mod index_delta;
pub mod index_file;
pub mod quant;
pub mod rows;
pub mod set;

pub use quant::{Metric, Quant};
pub use set::{VectorSet, VsetError};
