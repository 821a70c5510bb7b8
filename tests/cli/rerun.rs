//! Reruns and later days.
