# Sourced by bench.sh and demo.sh: use_jemalloc makes the processes started after it (dotnet, the
# teacher service, the trainers) allocate with jemalloc, keeping the memory they free instead of giving it
# back to the kernel. With glibc's malloc, libtorch's CPU forwards free and re-allocate their
# activations every batch and fault in fresh zeroed pages each time: millions of page faults a
# minute, and forwards at anything from 60% to 100% of their speed from one second to the next
# (docs/serving-performance.md, "Why jemalloc"). The price: a process keeps its peak memory.
use_jemalloc() {
  ensure_packages libjemalloc2
  local lib
  lib=$(dpkg-query -L libjemalloc2 | grep -m1 '/libjemalloc\.so\.2$')
  export LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}"
  export MALLOC_CONF="dirty_decay_ms:-1,muzzy_decay_ms:-1"
}
