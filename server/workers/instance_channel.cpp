#include "server/workers/instance_channel.h"

#include "server/json/json_text.h"
#include "transport/sse_stream.h"

namespace litemcp::server {

namespace {

class sse_instance_channel final : public instance_channel {
public:
    explicit sse_instance_channel(std::shared_ptr<transport::sse_stream> s) : s_(std::move(s)) {}
    bool send(std::string_view offset, const json& message) override { return s_->send(offset, to_json(message)); }
    void close() override { s_->close(); }
    void abort() override { s_->abort(); }
    bool is_open() const override { return s_->is_open(); }
    void on_closed(std::function<void()> f) override { s_->on_closed(std::move(f)); }

private:
    std::shared_ptr<transport::sse_stream> s_;
};

}  // namespace

std::shared_ptr<instance_channel> sse_channel(std::shared_ptr<transport::sse_stream> stream) {
    return std::make_shared<sse_instance_channel>(std::move(stream));
}

}  // namespace litemcp::server
