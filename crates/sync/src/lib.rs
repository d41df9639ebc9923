//! goro-sync (under construction)
