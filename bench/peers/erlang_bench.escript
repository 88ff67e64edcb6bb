#!/usr/bin/env escript
%% -*- erlang -*-
%%! +P 2097152
%%
%% The Erlang/OTP side of bench/peers (see README.md there): the four figures of Theater's
%% runtime and messaging benchmarks, measured on plain Erlang processes. Needs only Debian's
%% erlang-base (OTP 25); the script is compiled when it starts (-mode(compile)).
%%
%%   escript bench/peers/erlang_bench.escript spawn   [--n N]            (default 10,000)
%%       spawn N processes, each of which sends `ready` to the parent as soon as it runs (the
%%       analogue of an actor's init returning); spawns/s until all N `ready` have arrived; then
%%       send each a `stop` and wait until all have exited: stops/s.
%%   escript bench/peers/erlang_bench.escript send    [--n N] [--pairs P] (1,000,000 over 8)
%%       P senders each send N/P 16-byte binaries to their own receiver, which counts them;
%%       messages/s until every receiver has counted all of its messages.
%%   escript bench/peers/erlang_bench.escript request [--n N]            (default 50,000)
%%       request/reply round trip between two idle processes, each timed by the requester with
%%       erlang:monotonic_time; p50, p99, max and mean in microseconds.
%%   escript bench/peers/erlang_bench.escript idle    [--n N]            (default 100,000)
%%       N processes blocked in `receive`; the VM's resident memory delta (VmRSS) and the delta
%%       of erlang:memory(processes), each per process in KiB.
%%   escript bench/peers/erlang_bench.escript all                         every figure above
%%
%% Each figure prints one JSON line, keyed like the matching line of runtime_bench or
%% messaging_bench. `+P 2097152` lets --n go up to two million processes.
-mode(compile).

main(Args) ->
    case parse(Args, #{}) of
        {ok, Mode, Opts} ->
            run(Mode, Opts),
            halt(0);
        {error, Why} ->
            io:format(standard_error,
                      "erlang_bench: ~s~nusage: erlang_bench.escript spawn|send|request|idle|all "
                      "[--n N] [--pairs P]~n", [Why]),
            halt(2)
    end.

parse([Mode | Rest], Opts) when Mode =:= "spawn"; Mode =:= "send"; Mode =:= "request";
                                Mode =:= "idle"; Mode =:= "all" ->
    parse_flags(Rest, list_to_atom(Mode), Opts);
parse([Mode | _], _) -> {error, "unknown mode '" ++ Mode ++ "'"};
parse([], _) -> {error, "a mode is required"}.

parse_flags([], Mode, Opts) -> {ok, Mode, Opts};
parse_flags([Flag, Value | Rest], Mode, Opts) when Flag =:= "--n"; Flag =:= "--pairs" ->
    case string:to_integer(Value) of
        {I, []} when I > 0 ->
            Key = list_to_atom(tl(tl(Flag))),
            parse_flags(Rest, Mode, Opts#{Key => I});
        _ -> {error, Flag ++ " needs a positive integer, not '" ++ Value ++ "'"}
    end;
parse_flags([Flag | _], _, _) -> {error, "unknown or incomplete flag '" ++ Flag ++ "'"}.

run(all, Opts) ->
    %% In `all`, --n applies to no figure: each keeps its default.
    Pairs = maps:get(pairs, Opts, 8),
    lists:foreach(fun(M) -> run(M, #{pairs => Pairs}) end, [spawn, send, request, idle]);
run(spawn, Opts) -> print(spawn_figure(maps:get(n, Opts, 10000)));
run(send, Opts) -> print(send_figure(maps:get(n, Opts, 1000000), maps:get(pairs, Opts, 8)));
run(request, Opts) -> print(request_figure(maps:get(n, Opts, 50000)));
run(idle, Opts) -> print(idle_figure(maps:get(n, Opts, 100000))).

%% ---------------------------------------------------------------------------------------------
%% spawn until ready, then stop

spawn_figure(N) ->
    Parent = self(),
    T0 = now_ns(),
    Pids = spawn_ready(N, Parent, fun() -> receive stop -> ok end end, []),
    await(ready, N),
    T1 = now_ns(),
    %% Monitors (set up outside both clocks) tell when each process has really exited.
    Refs = [erlang:monitor(process, P) || P <- Pids],
    T2 = now_ns(),
    lists:foreach(fun(P) -> P ! stop end, Pids),
    await_down(length(Refs)),
    T3 = now_ns(),
    [{mode, <<"spawn">>}, {processes, N},
     {seconds, secs(T1 - T0)}, {spawns_per_s, round(N / secs(T1 - T0))},
     {stop_seconds, secs(T3 - T2)}, {stops_per_s, round(N / secs(T3 - T2))}].

%% Spawns N processes that send `ready` to Parent, then run Body.
spawn_ready(0, _Parent, _Body, Acc) -> Acc;
spawn_ready(N, Parent, Body, Acc) ->
    P = spawn(fun() -> Parent ! ready, Body() end),
    spawn_ready(N - 1, Parent, Body, [P | Acc]).

await(_Msg, 0) -> ok;
await(Msg, N) -> receive Msg -> await(Msg, N - 1) end.

await_down(0) -> ok;
await_down(N) -> receive {'DOWN', _, process, _, _} -> await_down(N - 1) end.

%% ---------------------------------------------------------------------------------------------
%% send over P pairs

send_figure(N, Pairs) ->
    Each = N div Pairs,
    Parent = self(),
    Receivers = [spawn(fun() -> receiver(Parent) end) || _ <- lists:seq(1, Pairs)],
    Senders = [spawn(fun() -> sender(R) end) || R <- Receivers],
    %% Warm-up: 10 messages a pair, as messaging_bench does.
    go(Senders, Receivers, 10),
    {_, _} = statistics(runtime),
    T0 = now_ns(),
    go(Senders, Receivers, Each),
    T1 = now_ns(),
    {_, CpuMs} = statistics(runtime),
    [exit(P, kill) || P <- Senders ++ Receivers],
    Total = Each * Pairs,
    [{mode, <<"send">>}, {messages, Total}, {pairs, Pairs},
     {seconds, secs(T1 - T0)}, {messages_per_s, round(Total / secs(T1 - T0))},
     {cpu_us_per_message, CpuMs * 1000 / Total}].

%% Tells every receiver to expect Count messages and every sender to send them; returns when
%% every receiver has counted them all.
go(Senders, Receivers, Count) ->
    lists:foreach(fun(R) -> R ! {expect, Count} end, Receivers),
    lists:foreach(fun(S) -> S ! {go, Count} end, Senders),
    await(counted, length(Receivers)).

sender(Receiver) ->
    receive {go, Count} -> send_loop(Receiver, Count) end,
    sender(Receiver).

send_loop(_Receiver, 0) -> ok;
send_loop(Receiver, K) ->
    Receiver ! <<"0123456789abcde", 0>>,  % 16 bytes, as bench_actor sends
    send_loop(Receiver, K - 1).

receiver(Parent) ->
    receive {expect, Count} -> count(Count) end,
    Parent ! counted,
    receiver(Parent).

count(0) -> ok;
count(K) -> receive Bin when is_binary(Bin) -> count(K - 1) end.

%% ---------------------------------------------------------------------------------------------
%% request round trip

request_figure(N) ->
    Parent = self(),
    Server = spawn(fun server/0),
    spawn(fun() ->
                  _ = rtt(Server, 1000, []),  % warm-up, as bench_actor's caller does
                  Parent ! {took, rtt(Server, N, [])}
          end),
    Took = receive {took, T} -> T end,
    Server ! stop,
    Sorted = list_to_tuple(lists:sort(Took)),
    %% The same order statistics as bench_actor.c: sorted[n/2], sorted[n*99/100], sorted[n-1].
    At = fun(I) -> element(I + 1, Sorted) / 1000 end,
    [{mode, <<"request">>}, {requests, N},
     {p50_us, At(N div 2)}, {p99_us, At(N * 99 div 100)}, {max_us, At(N - 1)},
     {mean_us, lists:sum(Took) / N / 1000}].

server() ->
    receive
        {request, From, Ref, _Body} -> From ! {Ref, <<"1">>}, server();
        stop -> ok
    end.

rtt(_Server, 0, Acc) -> Acc;
rtt(Server, K, Acc) ->
    T0 = erlang:monotonic_time(nanosecond),
    Ref = make_ref(),
    Server ! {request, self(), Ref, <<"ping">>},
    receive {Ref, _Reply} -> ok end,
    T1 = erlang:monotonic_time(nanosecond),
    rtt(Server, K - 1, [T1 - T0 | Acc]).

%% ---------------------------------------------------------------------------------------------
%% idle memory per process

idle_figure(N) ->
    Parent = self(),
    garbage_collect(),
    Count0 = erlang:system_info(process_count),
    Rss0 = rss_bytes(),
    Mem0 = erlang:memory(processes),
    T0 = now_ns(),
    Pids = spawn_ready(N, Parent, fun() -> receive stop -> ok end end, []),
    await(ready, N),
    T1 = now_ns(),
    garbage_collect(),  % the parent's heap grew with N `ready` messages; keep only the pid list
    Rss1 = rss_bytes(),
    Mem1 = erlang:memory(processes),
    Alive = erlang:system_info(process_count) - Count0,
    _ = length(Pids),  % the pids stay referenced until here
    [{mode, <<"idle">>}, {processes, N}, {alive, Alive},
     {rss_delta_mib, (Rss1 - Rss0) / 1048576}, {kib_per_process, (Rss1 - Rss0) / 1024 / N},
     {processes_memory_kib_per_process, (Mem1 - Mem0) / 1024 / N},
     {spawn_seconds, secs(T1 - T0)}].

%% VmRSS of this VM, from /proc/self/status.
rss_bytes() ->
    {ok, Status} = file:read_file("/proc/self/status"),
    [Line] = [L || L <- binary:split(Status, <<"\n">>, [global]),
                   binary:part(L, 0, min(6, byte_size(L))) =:= <<"VmRSS:">>],
    [_, Kib, <<"kB">>] = binary:split(Line, [<<" ">>, <<"\t">>], [global, trim_all]),
    binary_to_integer(Kib) * 1024.

%% ---------------------------------------------------------------------------------------------
%% output

now_ns() -> erlang:monotonic_time(nanosecond).

secs(Ns) -> max(Ns, 1) / 1.0e9.

%% One JSON line: the figure's fields after the system's description.
print(Fields) ->
    Common = [{system, <<"erlang">>},
              {otp_release, list_to_binary(erlang:system_info(otp_release))},
              {erts_version, list_to_binary(erlang:system_info(version))},
              {schedulers, erlang:system_info(schedulers_online)}],
    Body = lists:join(",", [[$", atom_to_list(K), "\":", json(V)] || {K, V} <- Common ++ Fields]),
    io:format("{~s}~n", [Body]).

json(V) when is_integer(V) -> integer_to_list(V);
json(V) when is_float(V) -> float_to_list(V, [{decimals, 3}, compact]);
json(V) when is_binary(V) -> [$", V, $"].
