// Where LibTorch's CPU tensors get their memory. Through glibc's malloc (the
// default), the many 4-32 MiB activations of a forward pass end up in its
// heaps (glibc raises its mmap threshold to the size of each large block
// freed, up to 32 MiB); the heaps fragment and keep their pages: a full-size
// htdemucs separation peaked at 1.1-1.2 GB resident for ~630 MiB of live
// tensors. Mapping every large block on its own (mallopt M_MMAP_THRESHOLD
// 1 MiB) brought that to 750 MiB but cost 40-70% more time in 4 KiB page
// faults on this virtual machine.
#pragma once

namespace demucs {

// Once per process, before the model's weights are allocated: LibTorch's CPU
// tensors of 1 MiB and more get a memory mapping each, 2 MiB aligned and
// advised as transparent huge pages (faulted in 2 MiB at a time where the
// system allows it: /sys/kernel/mm/transparent_hugepage/enabled "madvise" or
// "always"). A freed mapping is kept for the next tensor of its length, as
// long as live and kept mappings stay under the most that was ever live at
// once; smaller tensors come from malloc as before. The resident set peaks
// with the tensors alive at once.
void use_large_page_tensor_memory();

}  // namespace demucs
