//! Vector sets: Redis 8 compatible sets of named vectors with JSON
//! attributes, searched through an HNSW graph.
//!
//! # Layout
//! - [`distance`]: SIMD kernels (simsimd) with scalar references.
//! - [`quant`]: normalization, the NOQUANT / Q8 / BIN encodings and their
//!   cosine distance.
//! - [`hnsw`]: the graph (insert, search, filtered search, exact scan, delete).
//! - [`filter`]: the FILTER expression language over JSON attributes.
//! - [`set`]: [`VectorSet`]: element names, attributes, projection, the graph.

pub mod distance;
pub mod filter;
pub mod hnsw;
pub mod quant;
pub mod set;

pub use quant::Quant;
pub use set::{VectorSet, VsetError};
