#pragma once
// Memory needs are checked before large allocations, so a run that cannot fit says how much it
// needs and how much there is, instead of ending in a bare std::bad_alloc (or the OOM killer).
#include <cstddef>
#include <string>

namespace mixq {

// Bytes this process can still allocate: the least of the kernel's MemAvailable, the cgroup's
// memory.max − memory.current, and the address-space limit (ulimit -v) minus what is mapped.
size_t available_memory_bytes();

// Throws Error(where, "… needs X GiB for `what` but Y GiB are available") when `bytes` exceeds
// what is available.
void require_memory(size_t bytes, const std::string& what, const std::string& where);

// "1.25 GiB", "312.0 MiB", "4.0 KiB": sizes in messages.
std::string byte_size_string(double bytes);

}  // namespace mixq
