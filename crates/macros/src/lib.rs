//! goro-macros (under construction)
