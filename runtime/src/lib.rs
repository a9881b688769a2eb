//! haven's real-mode driver: the tokio runtime that drives `haven_core` on
//! real sockets. Built in a later issue; for now this crate only fixes its
//! place in the workspace.
