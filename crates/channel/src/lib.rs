//! goro-channel (under construction)
