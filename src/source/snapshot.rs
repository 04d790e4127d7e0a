//! The last good poll of each source, kept on disk so the daemon starts and prompts while offline.
