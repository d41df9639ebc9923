//! goro-executor (under construction)
