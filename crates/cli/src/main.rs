//! The `nigehban` command.

fn main() {}
