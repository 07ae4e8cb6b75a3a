// The executor of async work for a storage made without one: one io_context for the process,
// run by a thread of its own from first use until exit, when the thread is joined (so its
// thread-local state, such as signing contexts, is freed before leak checkers look).
//
// An io_context rather than Asio's system executor: storages already run io_contexts (each
// thread's private one for the blocking face), so a program compiles no second executor type
// into its type-erased executors; the system executor's four variants cost a minimal S3
// program about 12 KB. One thread also makes the context serialized, so the transports on it
// need no strand (http::serialized).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <thread>

namespace cloudstore::detail {

inline boost::asio::any_io_executor default_executor() {
    struct context {
        boost::asio::io_context io{1};
        boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{
            io.get_executor()};
        std::thread runner{[this] { io.run(); }};
        context() = default;
        context(const context&) = delete;
        context& operator=(const context&) = delete;
        ~context() {
            work.reset();
            io.stop();
            runner.join();
        }
    };
    static context c;
    return c.io.get_executor();
}

} // namespace cloudstore::detail
