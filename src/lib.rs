//! goro
