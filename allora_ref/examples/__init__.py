"""Examples for implementers: an adapter that speaks the conformance protocol."""
