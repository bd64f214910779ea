//! `switchyard`: the management server binary. Its own issue builds it out; until then it
//! only reports its version so the workspace and CI carry it from the start.

fn main() {
    println!(
        "switchyard {} (management server: not built yet)",
        switchyard::VERSION
    );
}
