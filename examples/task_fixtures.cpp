// Fixtures of the official conformance suite for what 2026-07-28 added:
// multi round-trip requests (input_required), the Tasks extension, and the
// stateless-era diagnostics. Each handler is written once and serves both
// eras: request_context::ask() becomes real server-to-client requests on a
// legacy session and input_required rounds (or a task waiting for input)
// otherwise.
#include <atomic>
#include <thread>

#include "examples/everything_provider.h"

namespace litemcp::examples {

using server::input_request;
using server::json;
using server::request_context;
using server::rpc_result;

namespace {


void add(server::registry& r, std::string name, std::string description, json schema,
         std::function<rpc_result(const json&, request_context&)> f, const char* task_support = nullptr) {
    json def{{"name", std::move(name)}, {"description", std::move(description)}, {"inputSchema", std::move(schema)}};
    if (task_support) def["execution"] = {{"taskSupport", task_support}};
    r.add_tool(server::tool{std::move(def), std::move(f)});
}

// Sleeps in small steps so a cancellation ends it at once.
void work_for(request_context& ctx, int ms) {
    for (int waited = 0; waited < ms && !ctx.cancelled(); waited += 10)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

input_request elicit(std::string key, std::string message, const std::string& field, const char* type = "string") {
    return {std::move(key), "elicitation/create",
            json{{"message", std::move(message)},
                 {"requestedSchema",
                  {{"type", "object"}, {"properties", {{field, {{"type", type}}}}}, {"required", {field}}}}}};
}

input_request sample(std::string key, std::string prompt, int max_tokens) {
    return {std::move(key), "sampling/createMessage",
            json{{"messages", json::array({{{"role", "user"}, {"content", {{"type", "text"}, {"text", std::move(prompt)}}}}})},
                 {"maxTokens", max_tokens}}};
}

input_request roots(std::string key) { return {std::move(key), "roots/list", json::object()}; }

// The accepted content of an elicitation answer, or nullopt (declined, cancelled, malformed).
std::optional<json> accepted(const json& answer) {
    if (!answer.is_object() || answer.value("action", "") != "accept" || !answer.contains("content") ||
        !answer["content"].is_object())
        return std::nullopt;
    return answer["content"];
}

std::string sampled_text(const json& answer) {
    if (answer.contains("content") && answer["content"].is_object()) return answer["content"].value("text", "");
    return "";
}

std::string root_list(const json& answer) {
    std::string out;
    for (auto& root : answer.value("roots", json::array()))
        out += (out.empty() ? "" : ", ") + root.value("uri", std::string("?"));
    return out.empty() ? "(none)" : out;
}

rpc_result declined(const std::string& what) {
    return json{{"content", json::array({{{"type", "text"}, {"text", what + " was declined or malformed"}}})},
                {"isError", true}};
}

void register_input_required(server::registry& r) {
    add(r, "test_input_required_result_elicitation", "Asks the client for a name, then greets it", empty_schema(),
        [](const json&, request_context& ctx) -> rpc_result {
            auto in = ctx.ask({elicit("user_name", "What is your name?", "name")});
            if (!in) return std::unexpected(in.error());
            auto content = accepted((*in)["user_name"]);
            if (!content || !(*content).contains("name") || !(*content)["name"].is_string()) return declined("the name");
            return text_result("Hello, " + (*content)["name"].get<std::string>() + "!");
        });
    add(r, "test_input_required_result_sampling", "Asks the client's model a question", empty_schema(),
        [](const json&, request_context& ctx) -> rpc_result {
            auto in = ctx.ask({sample("capital_question", "What is the capital of France?", 100)});
            if (!in) return std::unexpected(in.error());
            return text_result("The model answered: " + sampled_text((*in)["capital_question"]));
        });
    add(r, "test_input_required_result_list_roots", "Lists the client's roots", empty_schema(),
        [](const json&, request_context& ctx) -> rpc_result {
            auto in = ctx.ask({roots("client_roots")});
            if (!in) return std::unexpected(in.error());
            return text_result("The client's roots: " + root_list((*in)["client_roots"]));
        });
    auto confirm = [](const json&, request_context& ctx) -> rpc_result {
        auto in = ctx.ask({elicit("confirm", "Please confirm", "ok", "boolean")});
        if (!in) return std::unexpected(in.error());
        auto content = accepted((*in)["confirm"]);
        if (!content) return declined("the confirmation");
        return text_result(std::string("state-ok: confirmed=") + (content->value("ok", false) ? "true" : "false"));
    };
    add(r, "test_input_required_result_request_state", "Asks for a confirmation; the answer travels with requestState",
        empty_schema(), confirm);
    add(r, "test_input_required_result_tampered_state", "Asks for a confirmation (send back an altered requestState)",
        empty_schema(), confirm);
    add(r, "test_input_required_result_multiple_inputs", "Asks for a name, a model's greeting and the roots at once",
        empty_schema(), [](const json&, request_context& ctx) -> rpc_result {
            auto in = ctx.ask({elicit("user_name", "What is your name?", "name"), sample("greeting", "Generate a greeting", 50),
                               roots("client_roots")});
            if (!in) return std::unexpected(in.error());
            auto content = accepted((*in)["user_name"]);
            return text_result("name=" + (content ? content->value("name", std::string("?")) : std::string("?")) +
                               ", greeting=" + sampled_text((*in)["greeting"]) +
                               ", roots=" + root_list((*in)["client_roots"]));
        });
    add(r, "test_input_required_result_multi_round", "Asks for a name, then (in a second round) a colour",
        empty_schema(), [](const json&, request_context& ctx) -> rpc_result {
            auto first = ctx.ask({elicit("step1", "Step 1: What is your name?", "name")});
            if (!first) return std::unexpected(first.error());
            auto second = ctx.ask({elicit("step2", "Step 2: What is your favorite color?", "color")});
            if (!second) return std::unexpected(second.error());
            auto name = accepted((*first)["step1"]), color = accepted((*second)["step2"]);
            if (!name || !color) return declined("an answer");
            return text_result(name->value("name", std::string("?")) + " likes " + color->value("color", std::string("?")));
        });
    add(r, "test_input_required_result_capabilities", "Asks only for what the client declared it can give",
        empty_schema(), [](const json&, request_context& ctx) -> rpc_result {
            const auto& caps = ctx.client_capabilities();
            std::vector<input_request> wanted;
            if (caps.contains("elicitation")) wanted.push_back(elicit("user_name", "What is your name?", "name"));
            else if (caps.contains("sampling")) wanted.push_back(sample("sample_input", "Say hello", 20));
            else if (caps.contains("roots")) wanted.push_back(roots("client_roots"));
            else return text_result("the client declared nothing to ask with");
            auto in = ctx.ask(std::move(wanted));
            if (!in) return std::unexpected(in.error());
            return text_result("got " + std::to_string(in->size()) + " answer(s)");
        });
    r.add_prompt(server::prompt{
        json{{"name", "test_input_required_result_prompt"}, {"description", "A prompt that asks the client for context first"}},
        [](const json&, request_context& ctx) -> rpc_result {
            auto in = ctx.ask({elicit("user_context", "What context should the prompt use?", "context")});
            if (!in) return std::unexpected(in.error());
            auto content = accepted((*in)["user_context"]);
            const std::string context = content ? content->value("context", std::string()) : std::string();
            return json{{"messages", json::array({{{"role", "user"},
                                                   {"content", {{"type", "text"}, {"text", "Use this context: " + context}}}}})}};
        }});
}

void register_tasks(server::registry& r) {
    add(r, "greet", "Greets someone, at once (never a task)",
        json{{"type", "object"}, {"properties", {{"name", {{"type", "string"}}}}}, {"required", {"name"}}},
        [](const json& a, request_context&) -> rpc_result { return text_result("Hello, " + a.value("name", "") + "!"); });
    add(r, "slow_compute", "Works for the given seconds; a task when the client can take one",
        json{{"type", "object"},
             {"properties", {{"seconds", {{"type", "number"}, {"minimum", 0}, {"maximum", 3600}}}, {"label", {{"type", "string"}}}}},
             {"required", {"seconds"}}},
        [](const json& a, request_context& ctx) -> rpc_result {
            const double seconds = a.value("seconds", 0.0);
            const int steps = std::max(1, static_cast<int>(seconds * 10));
            for (int i = 1; i <= steps && !ctx.cancelled(); ++i) {
                work_for(ctx, static_cast<int>(seconds * 1000 / steps));
                ctx.progress(i, steps);
            }
            return text_result("computed " + a.value("label", std::string("result")) + " in " +
                               std::to_string(seconds) + " s");
        },
        "optional");
    add(r, "failing_job", "Runs only as a task; after a second it reports a tool error", empty_schema(),
        [](const json&, request_context& ctx) -> rpc_result {
            work_for(ctx, 1000);
            return json{{"content", json::array({{{"type", "text"}, {"text", "the job failed"}}})}, {"isError", true}};
        },
        "required");
    add(r, "protocol_error_job", "Runs only as a task; ends with a JSON-RPC error", empty_schema(),
        [](const json&, request_context& ctx) -> rpc_result {
            work_for(ctx, 300);
            return server::fail(server::rpc_code::internal_error, "the job hit a protocol error");
        },
        "required");
    // These ask after some work, so a client that can take a task has one
    // (waiting in input_required) by then.
    add(r, "confirm_delete", "Asks for a confirmation before deleting a file",
        json{{"type", "object"}, {"properties", {{"filename", {{"type", "string"}}}}}},
        [](const json& a, request_context& ctx) -> rpc_result {
            work_for(ctx, 400);
            const auto file = a.value("filename", std::string("the file"));
            auto in = ctx.ask({elicit("confirm", "Delete " + file + "?", "confirm", "boolean")});
            if (!in) return std::unexpected(in.error());
            auto content = accepted((*in)["confirm"]);
            if (!content || !content->value("confirm", false)) return text_result("kept " + file);
            return text_result("deleted " + file);
        },
        "optional");
    add(r, "multi_input", "Asks two questions at once", empty_schema(),
        [](const json&, request_context& ctx) -> rpc_result {
            work_for(ctx, 400);
            auto in = ctx.ask({elicit("first", "First answer?", "name"), elicit("second", "Second answer?", "name")});
            if (!in) return std::unexpected(in.error());
            auto a = accepted((*in)["first"]), b = accepted((*in)["second"]);
            return text_result("answers: " + (a ? a->dump() : "none") + ", " + (b ? b->dump() : "none"));
        },
        "optional");
    add(r, "echo_task", "Echoes its text argument, always as a task (for benchmarks)",
        json{{"type", "object"}, {"properties", {{"text", {{"type", "string"}}}}}},
        [](const json& a, request_context&) -> rpc_result { return text_result(a.value("text", "")); }, "required");
    add(r, "test_tool_with_task", "Asks for a name at once, then works long enough to become a task", empty_schema(),
        [](const json&, request_context& ctx) -> rpc_result {
            auto in = ctx.ask({elicit("user_name", "What is your name?", "name")});
            if (!in) return std::unexpected(in.error());
            work_for(ctx, 1000);
            auto content = accepted((*in)["user_name"]);
            return text_result("Hello, " + (content ? content->value("name", std::string("?")) : std::string("?")) +
                               "! The task is done.");
        },
        "optional");
}

void register_diagnostics(server::registry& r) {
    add(r, "test_missing_capability", "Needs the client's sampling capability", empty_schema(),
        [](const json&, request_context& ctx) -> rpc_result {
            auto in = ctx.ask({sample("question", "Say something", 20)});
            if (!in) return std::unexpected(in.error());
            return text_result("sampled: " + sampled_text((*in)["question"]));
        });
    add(r, "test_streaming_elicitation", "Needs an elicitation (never sent as a request on a 2026-07-28 stream)",
        empty_schema(), [](const json&, request_context& ctx) -> rpc_result {
            auto in = ctx.ask({elicit("user_name", "What is your name?", "name")});
            if (!in) return std::unexpected(in.error());
            return text_result("thanks");
        });
    add(r, "test_logging_tool", "Logs a message (seen only by clients that asked for a log level)", empty_schema(),
        [](const json&, request_context& ctx) -> rpc_result {
            ctx.log(server::log_level::info, "test_logging_tool ran", "examples");
            return text_result("logged");
        });
    add(r, "test_trigger_prompt_change", "Adds a prompt (prompts/list_changed)", empty_schema(),
        [&r](const json&, request_context&) -> rpc_result {
            static std::atomic<int> n{0};
            const auto name = "generated_prompt_" + std::to_string(++n);
            r.add_prompt(server::prompt{json{{"name", name}, {"description", "A prompt added at run time"}},
                                        [](const json&, request_context&) -> rpc_result {
                                            return json{{"messages", json::array({{{"role", "user"},
                                                                                   {"content", {{"type", "text"}, {"text", "generated"}}}}})}};
                                        }});
            return text_result("added " + name);
        });
}

}  // namespace

void register_2026_fixtures(server::registry& r) {
    register_input_required(r);
    register_tasks(r);
    register_diagnostics(r);
}

}  // namespace litemcp::examples
