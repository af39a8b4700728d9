// The migrations are compiled into the binary (`embed_migrations!`): without this, a
// new migration folder would not rebuild it, and `migrate` would call an old schema
// up to date.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
