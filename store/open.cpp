// store::open: the engine the options name.
#include "store/embedded_store.h"
#include "store/jetstream/jetstream_store.h"

namespace litemcp::store {

result<std::unique_ptr<store>> store::open(store_options options) {
    if (!options.nats.servers.empty()) return jetstream::jetstream_store::open(std::move(options));
    return embedded_store::open(std::move(options));
}

}  // namespace litemcp::store
