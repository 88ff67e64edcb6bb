// Theater: a WebAssembly actor runtime.
//
// Boost.Asio's compiled part (BOOST_ASIO_SEPARATE_COMPILATION, set for the whole project in the
// top-level CMakeLists.txt), here once for every library. Why: the I/O loop is run by one
// library (common/io_loop_threads.cc) and its completions are compiled in others (the handlers,
// the servers). Asio keeps per-thread state (which io_context and strand a thread is running,
// its recycled allocations) in thread-local variables; compiled into every library, as header-
// only Asio is, a build of shared libraries (the sanitizer build) gives each library a copy of
// its own, and a completion then finds the loop's thread state missing. Compiled here, there is
// one.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
