// {{project_name}}: a Theater supervisor actor in C++.
//
// Commands, sent as requests (`theater message --request <id> "<command>"`):
//   spawn:<manifest>   start a child (a manifest path, URL or TOML text); answers its id
//   list               the children's ids, comma-separated
//   stop:<child-id>    stop a child
// A child that fails is restarted; one that exits or is stopped from outside is only logged.
#include <theater/theater.hpp>

#include <string>

namespace {

std::string Text(const theater::Bytes& bytes) { return std::string(theater::as_string_view(bytes)); }

std::string Spawn(const std::string& manifest) {
  theater_result_string_t child;
  theater_supervisor_spawn(manifest.data(), manifest.size(), false, nullptr, 0, &child);
  std::string answer = child.is_err ? "error: " + std::string(child.err.ptr, child.err.len)
                                    : std::string(child.ok.ptr, child.ok.len);
  if (!child.is_err) theater::log("spawned child " + answer);
  theater_result_string_free(&child);
  return answer;
}

std::string Children() {
  theater_strings_t children;
  theater_supervisor_list_children(&children);
  std::string list;
  for (size_t i = 0; i < children.len; i++) {
    if (!list.empty()) list += ",";
    list.append(children.ptr[i].ptr, children.ptr[i].len);
  }
  theater_strings_free(&children);
  return list;
}

std::string Stop(const std::string& child) {
  theater_result_t r;
  theater_supervisor_stop_child(child.data(), child.size(), &r);
  if (r.is_err) return "error: " + theater::detail::take(&r.err);
  return "ok";
}

theater::Result Init(theater::State& /*state*/, std::string_view actor_id) {
  theater::log("supervisor {{project_name}} " + std::string(actor_id) + " started");
  return theater::Result::ok();
}

theater::Result HandleRequest(theater::State& /*state*/, std::string_view /*request_id*/,
                              const theater::Bytes& msg, std::optional<theater::Bytes>& response) {
  const std::string text = Text(msg);
  std::string answer;
  if (text.rfind("spawn:", 0) == 0) {
    answer = Spawn(text.substr(6));
  } else if (text.rfind("stop:", 0) == 0) {
    answer = Stop(text.substr(5));
  } else if (text == "list") {
    answer = Children();
  } else {
    answer = "commands: spawn:<manifest>, list, stop:<child-id>";
  }
  response = theater::to_bytes(answer);
  return theater::Result::ok();
}

theater::Result ChildError(theater::State& /*state*/, std::string_view child_id,
                           const theater::ActorError& error) {
  theater::logf("child %.*s failed (error type %d); restarting it", static_cast<int>(child_id.size()),
                child_id.data(), static_cast<int>(error.type));
  theater_result_t r;
  theater_supervisor_restart_child(child_id.data(), child_id.size(), &r);
  if (r.is_err) theater::log("restart failed: " + theater::detail::take(&r.err));
  return theater::Result::ok();
}

theater::Result ChildExit(theater::State& /*state*/, std::string_view child_id,
                          const theater::State& data) {
  theater::log("child " + std::string(child_id) + " exited" + (data ? " with data" : ""));
  return theater::Result::ok();
}

theater::Result ChildExternalStop(theater::State& /*state*/, std::string_view child_id) {
  theater::log("child " + std::string(child_id) + " was stopped from outside");
  return theater::Result::ok();
}

}  // namespace

THEATER_CPP_ACTOR_INIT(Init)
THEATER_CPP_HANDLE_REQUEST(HandleRequest)
THEATER_CPP_HANDLE_CHILD_ERROR(ChildError)
THEATER_CPP_HANDLE_CHILD_EXIT(ChildExit)
THEATER_CPP_HANDLE_CHILD_EXTERNAL_STOP(ChildExternalStop)
