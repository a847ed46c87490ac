#![no_main]
// See clamav_freshen::fuzzing::http_reply for what is parsed and which invariants are asserted.
libfuzzer_sys::fuzz_target!(|data: &[u8]| clamav_freshen::fuzzing::http_reply(data));
