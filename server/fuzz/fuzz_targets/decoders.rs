//! Every request decoder (JSON bodies, query strings, config documents through core's
//! validator) on arbitrary bytes: errors are fine, panics are not.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    switchyard_server::api::decode_everything(data);
});
