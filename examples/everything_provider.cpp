#include "examples/everything_provider.h"

#include <regex>
#include <thread>

namespace litemcp::examples {

using server::json;
using server::log_level;
using server::request_context;
using server::rpc_result;

// Member by member: an initializer list would build each pair as an array
// first, and echo answers every benchmark call with this.
json text_result(std::string text) {
    json item(json::value_t::object);
    item["type"] = "text";
    item["text"] = std::move(text);
    json content(json::value_t::array);
    content.push_back(std::move(item));
    json out(json::value_t::object);
    out["content"] = std::move(content);
    return out;
}

json empty_schema() { return json{{"type", "object"}, {"properties", json::object()}}; }

namespace {

// A 1x1 PNG and a tiny WAV, base64.
constexpr const char* png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
constexpr const char* wav = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

// Tools that only compute their answer run on the I/O thread (no hand-off);
// the ones that sleep or wait for the client keep the default, the pool.
void add(server::registry& r, std::string name, std::string description, json schema,
         std::function<rpc_result(const json&, request_context&)> f,
         server::execution runs_on = server::execution::pool) {
    r.add_tool(server::tool{
        json{{"name", std::move(name)}, {"description", std::move(description)}, {"inputSchema", std::move(schema)}},
        std::move(f), runs_on});
}

void pause(request_context& ctx, int ms) {
    for (int waited = 0; waited < ms && !ctx.cancelled(); waited += 10)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

rpc_result ask(request_context& ctx, const char* method, json params) {
    return ctx.request(method, std::move(params), std::chrono::seconds(60));
}

void register_tools(server::registry& r) {
    add(r, "echo", "Echoes its text argument", json{{"type", "object"}, {"properties", {{"text", {{"type", "string"}}}}}},
        [](const json& a, request_context&) -> rpc_result { return text_result(a.value("text", "")); },
        server::execution::io);
    add(r, "countdown", "Counts down, reporting progress every 100 ms (a long-running tool)",
        json{{"type", "object"},
             {"properties", {{"steps", {{"type", "integer"}, {"minimum", 1}, {"maximum", 600}}}}}},
        [](const json& a, request_context& ctx) -> rpc_result {
            const int steps = a.value("steps", 10);
            for (int i = 1; i <= steps && !ctx.cancelled(); ++i) {
                pause(ctx, 100);
                ctx.progress(i, steps, std::to_string(steps - i) + " to go");
            }
            return text_result("countdown of " + std::to_string(steps) + " finished");
        });
    // 2026-07-28: arguments a client must mirror in Mcp-Param-* headers.
    add(r, "test_header_params", "Echoes arguments that travel as Mcp-Param-Region and Mcp-Param-Count headers too",
        json{{"type", "object"},
             {"properties",
              {{"region", {{"type", "string"}, {"x-mcp-header", "Region"}}},
               {"count", {{"type", "integer"}, {"x-mcp-header", "Count"}}},
               {"text", {{"type", "string"}}}}}},
        [](const json& a, request_context&) -> rpc_result { return text_result(a.dump()); }, server::execution::io);
    add(r, "test_simple_text", "Returns a simple text", empty_schema(),
        [](const json&, request_context&) -> rpc_result {
            return text_result("This is a simple text response for testing.");
        });
    add(r, "test_image_content", "Returns an image", empty_schema(), [](const json&, request_context&) -> rpc_result {
        return json{{"content", json::array({{{"type", "image"}, {"data", png}, {"mimeType", "image/png"}}})}};
    });
    add(r, "test_audio_content", "Returns audio", empty_schema(), [](const json&, request_context&) -> rpc_result {
        return json{{"content", json::array({{{"type", "audio"}, {"data", wav}, {"mimeType", "audio/wav"}}})}};
    });
    add(r, "test_embedded_resource", "Returns an embedded resource", empty_schema(),
        [](const json&, request_context&) -> rpc_result {
            return json{{"content", json::array({{{"type", "resource"},
                                                  {"resource",
                                                   {{"uri", "test://embedded-resource"},
                                                    {"mimeType", "text/plain"},
                                                    {"text", "This is an embedded resource content."}}}}})}};
        });
    add(r, "test_multiple_content_types", "Returns text, an image and a resource", empty_schema(),
        [](const json&, request_context&) -> rpc_result {
            return json{{"content", json::array({{{"type", "text"}, {"text", "Multiple content types test:"}},
                                                 {{"type", "image"}, {"data", png}, {"mimeType", "image/png"}},
                                                 {{"type", "resource"},
                                                  {"resource",
                                                   {{"uri", "test://mixed-content-resource"},
                                                    {"mimeType", "application/json"},
                                                    {"text", json{{"test", "data"}, {"value", 123}}.dump()}}}}})}};
        });
    add(r, "test_tool_with_logging", "Logs three messages while it runs", empty_schema(),
        [](const json&, request_context& ctx) -> rpc_result {
            const char* steps[] = {"Tool execution started", "Tool processing data", "Tool execution completed"};
            for (int i = 0; i < 3; ++i) {
                if (i) pause(ctx, 50);
                ctx.log(log_level::info, steps[i]);
            }
            return text_result("Tool with logging executed successfully");
        });
    add(r, "test_tool_with_progress", "Reports progress 0, 50, 100", empty_schema(),
        [](const json&, request_context& ctx) -> rpc_result {
            for (int p : {0, 50, 100}) {
                if (p) pause(ctx, 50);
                ctx.progress(p, 100, "Completed step " + std::to_string(p) + " of 100");
            }
            return text_result("Progress tool completed");
        });
    add(r, "test_error_handling", "Always fails", empty_schema(), [](const json&, request_context&) -> rpc_result {
        return json{{"isError", true},
                    {"content", json::array({{{"type", "text"}, {"text", "This tool intentionally returns an error for testing"}}})}};
    });
    add(r, "test_reconnection", "Closes its stream; the client must resume to get the result", empty_schema(),
        [](const json&, request_context& ctx) -> rpc_result {
            ctx.close_stream();
            pause(ctx, 100);
            return text_result(
                "Reconnection test completed successfully. If you received this, the client properly reconnected "
                "after stream closure.");
        });
    add(r, "test_sampling", "Asks the client's LLM",
        json{{"type", "object"},
             {"properties", {{"prompt", {{"type", "string"}, {"description", "The prompt to send to the LLM"}}}}},
             {"required", {"prompt"}}},
        [](const json& a, request_context& ctx) -> rpc_result {
            auto r = ask(ctx, "sampling/createMessage",
                         json{{"messages", json::array({{{"role", "user"},
                                                         {"content", {{"type", "text"}, {"text", a.value("prompt", "")}}}}})},
                              {"maxTokens", 100}});
            if (!r) return r;
            std::string answer = r->contains("content") ? (*r)["content"].value("text", "") : "";
            return text_result("LLM response: " + answer);
        });
    add(r, "test_elicitation", "Asks the user",
        json{{"type", "object"},
             {"properties", {{"message", {{"type", "string"}, {"description", "The message to show the user"}}}}},
             {"required", {"message"}}},
        [](const json& a, request_context& ctx) -> rpc_result {
            auto r = ask(ctx, "elicitation/create",
                         json{{"message", a.value("message", "")},
                              {"requestedSchema",
                               {{"type", "object"},
                                {"properties",
                                 {{"username", {{"type", "string"}, {"description", "User's response"}}},
                                  {"email", {{"type", "string"}, {"description", "User's email address"}}}}},
                                {"required", {"username", "email"}}}}});
            if (!r) return r;
            return text_result("User response: action=" + r->value("action", "") +
                               ", content=" + r->value("content", json::object()).dump());
        });
    add(r, "test_elicitation_sep1034_defaults", "Elicitation with default values", empty_schema(),
        [](const json&, request_context& ctx) -> rpc_result {
            json props{{"name", {{"type", "string"}, {"description", "User name"}, {"default", "John Doe"}}},
                       {"age", {{"type", "integer"}, {"description", "User age"}, {"default", 30}}},
                       {"score", {{"type", "number"}, {"description", "User score"}, {"default", 95.5}}},
                       {"status",
                        {{"type", "string"},
                         {"description", "User status"},
                         {"enum", {"active", "inactive", "pending"}},
                         {"default", "active"}}},
                       {"verified", {{"type", "boolean"}, {"description", "Verification status"}, {"default", true}}}};
            auto r = ask(ctx, "elicitation/create",
                         json{{"mode", "form"},
                              {"message", "Please review and update the form fields with defaults"},
                              {"requestedSchema", {{"type", "object"}, {"properties", props}, {"required", json::array()}}}});
            if (!r) return r;
            return text_result("Elicitation completed: action=" + r->value("action", "") +
                               ", content=" + r->value("content", json::object()).dump());
        });
    add(r, "test_elicitation_sep1330_enums", "Elicitation with enum fields", empty_schema(),
        [](const json&, request_context& ctx) -> rpc_result {
            auto titled = [](const char* a, const char* b, const char* c, const char* prefix) {
                return json::array({{{"const", a}, {"title", std::string("First ") + prefix}},
                                    {{"const", b}, {"title", std::string("Second ") + prefix}},
                                    {{"const", c}, {"title", std::string("Third ") + prefix}}});
            };
            json props{
                {"untitledSingle",
                 {{"type", "string"}, {"description", "Select one option"}, {"enum", {"option1", "option2", "option3"}}}},
                {"titledSingle",
                 {{"type", "string"},
                  {"description", "Select one option with titles"},
                  {"oneOf", titled("value1", "value2", "value3", "Option")}}},
                {"legacyEnum",
                 {{"type", "string"},
                  {"description", "Select one option (legacy)"},
                  {"enum", {"opt1", "opt2", "opt3"}},
                  {"enumNames", {"Option One", "Option Two", "Option Three"}}}},
                {"untitledMulti",
                 {{"type", "array"},
                  {"description", "Select multiple options"},
                  {"minItems", 1},
                  {"maxItems", 3},
                  {"items", {{"type", "string"}, {"enum", {"option1", "option2", "option3"}}}}}},
                {"titledMulti",
                 {{"type", "array"},
                  {"description", "Select multiple options with titles"},
                  {"minItems", 1},
                  {"maxItems", 3},
                  {"items", {{"anyOf", titled("value1", "value2", "value3", "Choice")}}}}}};
            auto r = ask(ctx, "elicitation/create",
                         json{{"mode", "form"},
                              {"message", "Please select options from the enum fields"},
                              {"requestedSchema", {{"type", "object"}, {"properties", props}, {"required", json::array()}}}});
            if (!r) return r;
            return text_result("Elicitation completed: action=" + r->value("action", "") +
                               ", content=" + r->value("content", json::object()).dump());
        });
    // Triggers for notifications that go to the standalone GET stream.
    add(r, "test_trigger_resource_update", "Announces that a resource changed (to its subscribers)",
        json{{"type", "object"}, {"properties", {{"uri", {{"type", "string"}}}}}, {"required", {"uri"}}},
        [&r](const json& a, request_context&) -> rpc_result {
            r.resource_updated(a.value("uri", ""));
            return text_result("updated " + a.value("uri", ""));
        });
    add(r, "test_trigger_tool_change", "Adds or removes the tool test_dynamic_tool (tools/list_changed)",
        empty_schema(), [&r](const json&, request_context&) -> rpc_result {
            if (r.remove_tool("test_dynamic_tool")) return text_result("removed test_dynamic_tool");
            add(r, "test_dynamic_tool", "A tool that comes and goes", empty_schema(),
                [](const json&, request_context&) -> rpc_result { return text_result("dynamic"); });
            return text_result("added test_dynamic_tool");
        });
    add(r, "json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features",
        json{{"$schema", "https://json-schema.org/draft/2020-12/schema"},
             {"type", "object"},
             {"$defs",
              {{"address",
                {{"$anchor", "addressDef"},
                 {"type", "object"},
                 {"properties", {{"street", {{"type", "string"}}}, {"city", {{"type", "string"}}}}}}}}},
             {"properties",
              {{"name", {{"type", "string"}}},
               {"address", {{"$ref", "#/$defs/address"}}},
               {"contactMethod", {{"type", "string"}, {"enum", {"phone", "email"}}}},
               {"phone", {{"type", "string"}}},
               {"email", {{"type", "string"}}}}},
             {"allOf", json::array({{{"anyOf", json::array({{{"required", {"phone"}}}, {{"required", {"email"}}}})}}})},
             {"if", {{"properties", {{"contactMethod", {{"const", "phone"}}}}}, {"required", {"contactMethod"}}}},
             {"then", {{"required", {"phone"}}}},
             {"else", {{"required", {"email"}}}},
             {"additionalProperties", false}},
        [](const json& a, request_context&) -> rpc_result {
            return text_result("JSON Schema 2020-12 tool called with: " + a.dump());
        });
}

void register_resources(server::registry& r) {
    auto text_resource = [](std::string uri, std::string name, std::string desc, std::string body) {
        json def{{"uri", uri}, {"name", std::move(name)}, {"description", std::move(desc)}, {"mimeType", "text/plain"}};
        return server::resource{std::move(def), [body](const std::string& u, request_context&) -> rpc_result {
                                    return json{{"contents", json::array({{{"uri", u}, {"mimeType", "text/plain"}, {"text", body}}})}};
                                }};
    };
    r.add_resource(text_resource("test://static-text", "static-text", "A static text resource for testing",
                                 "This is the content of the static text resource."));
    r.add_resource(server::resource{
        json{{"uri", "test://static-binary"},
             {"name", "static-binary"},
             {"description", "A static binary resource (image) for testing"},
             {"mimeType", "image/png"}},
        [](const std::string& u, request_context&) -> rpc_result {
            return json{{"contents", json::array({{{"uri", u}, {"mimeType", "image/png"}, {"blob", png}}})}};
        }});
    r.add_resource(text_resource("test://watched-resource", "watched-resource", "A watched resource",
                                 "Watched resource content"));
    r.add_resource_template(server::resource_template{
        json{{"uriTemplate", "test://template/{id}/data"},
             {"name", "template"},
             {"description", "A resource template with parameter substitution"},
             {"mimeType", "application/json"}},
        [](const std::string& u, const std::map<std::string, std::string>& vars, request_context&) -> rpc_result {
            const auto& id = vars.at("id");
            json body{{"id", id}, {"templateTest", true}, {"data", "Data for ID: " + id}};
            return json{{"contents", json::array({{{"uri", u}, {"mimeType", "application/json"}, {"text", body.dump()}}})}};
        }});
}

json user_message(json content) { return json{{"role", "user"}, {"content", std::move(content)}}; }

json text_content(const std::string& t) { return json{{"type", "text"}, {"text", t}}; }

json messages(std::initializer_list<json> items) {
    json list = json::array();
    for (auto& m : items) list.push_back(user_message(m));
    return json{{"messages", std::move(list)}};
}

json prompt_argument(const char* name, const char* description) {
    return json{{"name", name}, {"description", description}, {"required", true}};
}

void register_prompts(server::registry& r) {
    r.add_prompt(server::prompt{
        json{{"name", "test_simple_prompt"}, {"description", "A simple prompt without arguments"}},
        [](const json&, request_context&) -> rpc_result {
            return messages({text_content("This is a simple prompt for testing.")});
        }});
    json args_with = json::array();
    args_with.push_back(prompt_argument("arg1", "First test argument"));
    args_with.push_back(prompt_argument("arg2", "Second test argument"));
    r.add_prompt(server::prompt{
        json{{"name", "test_prompt_with_arguments"}, {"description", "A prompt with required arguments"}, {"arguments", args_with}},
        [](const json& a, request_context&) -> rpc_result {
            return messages({text_content("Prompt with arguments: arg1='" + a.value("arg1", "") + "', arg2='" +
                                          a.value("arg2", "") + "'")});
        }});
    json args_embedded = json::array();
    args_embedded.push_back(prompt_argument("resourceUri", "URI of the resource to embed"));
    r.add_prompt(server::prompt{
        json{{"name", "test_prompt_with_embedded_resource"},
             {"description", "A prompt that includes an embedded resource"},
             {"arguments", args_embedded}},
        [](const json& a, request_context&) -> rpc_result {
            json resource{{"uri", a.value("resourceUri", "")},
                          {"mimeType", "text/plain"},
                          {"text", "Embedded resource content for testing."}};
            return messages({json{{"type", "resource"}, {"resource", resource}},
                             text_content("Please process the embedded resource above.")});
        }});
    r.add_prompt(server::prompt{
        json{{"name", "test_prompt_with_image"}, {"description", "A prompt that includes image content"}},
        [](const json&, request_context&) -> rpc_result {
            return messages({json{{"type", "image"}, {"data", png}, {"mimeType", "image/png"}},
                             text_content("Please analyze the image above.")});
        }});
    r.set_completion([](const json&, request_context&) -> rpc_result {
        return json{{"completion", {{"values", json::array()}, {"total", 0}, {"hasMore", false}}}};
    });
}

}  // namespace

void register_everything(server::registry& r) {
    register_tools(r);
    register_resources(r);
    register_prompts(r);
    register_2026_fixtures(r);
}

}  // namespace litemcp::examples
