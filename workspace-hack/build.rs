//! Empty: a build script makes cargo resolve this crate's build-dependencies, which
//! is how they unify the features of the build tools (bindgen, syn, cc) every crate uses.
fn main() {}
