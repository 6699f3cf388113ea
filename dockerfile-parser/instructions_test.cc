#include "dockerfile-parser/instructions.h"

#include <gtest/gtest.h>

#include "dockerfile-parser/run_mount.h"

namespace ocibuild::dockerfile {
namespace {

// Parses a one-instruction Dockerfile and returns its typed step (or the error text).
Result<Step> One(std::string_view text) {
  auto f = ParseDockerfile(text);
  if (!f.ok()) return std::move(f).error();
  return ParseInstruction(*f, f->nodes.back());
}

// The first line of an error (the header without the source excerpt).
std::string Err(std::string_view text) {
  auto s = One(text);
  if (s.ok()) return "ok";
  const std::string& m = s.error().message;
  return m.substr(0, m.find('\n'));
}

template <typename T>
T Get(std::string_view text) {
  auto s = One(text);
  EXPECT_TRUE(s.ok()) << s.error().message;
  if (!s.ok() || !std::holds_alternative<T>(s->instr)) return T{};
  return std::get<T>(s->instr);
}

TEST(From, Forms) {
  auto f = Get<FromInstr>("FROM --platform=$BUILDPLATFORM golang:1.22 AS Build-1\n");
  EXPECT_EQ(f.base, "golang:1.22");
  EXPECT_EQ(f.name, "build-1");
  EXPECT_EQ(f.platform, "$BUILDPLATFORM");
  EXPECT_EQ(Get<FromInstr>("from scratch\n").base, "scratch");
  EXPECT_EQ(Err("FROM a AS\n"), "Dockerfile:1:1: FROM requires either one or three arguments");
  EXPECT_EQ(Err("FROM\n"), "Dockerfile:1:1: FROM requires either one or three arguments");
  EXPECT_EQ(Err("FROM a AS 1x\n"),
            "Dockerfile:1:11: invalid name for build stage: \"1x\", name can't start with a "
            "number or contain symbols");
  EXPECT_EQ(Err("FROM --platfrom=linux/arm64 a\n"),
            "Dockerfile:1:6: unknown flag: --platfrom (did you mean platform?)");
}

TEST(Arg, Forms) {
  auto a = Get<ArgInstr>("ARG A B=2 C=\n");
  ASSERT_EQ(a.args.size(), 3u);
  EXPECT_EQ(a.args[0].key, "A");
  EXPECT_FALSE(a.args[0].value);
  EXPECT_EQ(*a.args[1].value, "2");
  EXPECT_EQ(*a.args[2].value, "");
  EXPECT_EQ(Err("ARG\n"), "Dockerfile:1:1: ARG requires at least one argument");
  EXPECT_EQ(Err("ARG =x\n"), "Dockerfile:1:1: ARG names can not be blank");
}

TEST(Env, BothForms) {
  auto e = Get<EnvInstr>("ENV A=1 B=\"two words\"\n");
  ASSERT_EQ(e.vars.size(), 2u);
  EXPECT_EQ(e.vars[1].key, "B");
  EXPECT_EQ(e.vars[1].value, "\"two words\"");  // quotes go away at expansion
  EXPECT_FALSE(e.vars[1].legacy);
  auto legacy = Get<EnvInstr>("ENV PATH /a:/b c\n");
  ASSERT_EQ(legacy.vars.size(), 1u);
  EXPECT_EQ(legacy.vars[0].value, "/a:/b c");
  EXPECT_TRUE(legacy.vars[0].legacy);
  EXPECT_EQ(Err("ENV\n"), "Dockerfile:1:1: ENV requires at least one argument");
  EXPECT_EQ(Err("ENV =x\n"), "Dockerfile:1:1: ENV names can not be blank");
}

TEST(Label, Pairs) {
  auto l = Get<LabelInstr>("LABEL a=b \"c d\"=e\n");
  ASSERT_EQ(l.labels.size(), 2u);
  EXPECT_EQ(l.labels[1].key, "\"c d\"");
  EXPECT_EQ(Err("LABEL --x=1 a=b\n"), "Dockerfile:1:7: unknown flag: --x");
}

TEST(Run, ShellAndExecForm) {
  auto r = Get<RunInstr>("RUN make -j2\n");
  EXPECT_EQ(r.command.args, std::vector<std::string>{"make -j2"});
  EXPECT_TRUE(r.command.shell_form);
  auto e = Get<RunInstr>("RUN [\"make\", \"-j2\"]\n");
  EXPECT_EQ(e.command.args, (std::vector<std::string>{"make", "-j2"}));
  EXPECT_FALSE(e.command.shell_form);
  EXPECT_EQ(r.network, "default");
  EXPECT_EQ(r.security, "sandbox");
}

TEST(Run, NetworkAndSecurity) {
  EXPECT_EQ(Get<RunInstr>("RUN --network=none x\n").network, "none");
  EXPECT_EQ(Get<RunInstr>("RUN --network=host x\n").network, "host");
  EXPECT_EQ(Get<RunInstr>("RUN --security=insecure x\n").security, "insecure");
  EXPECT_EQ(Err("RUN --network=bridge x\n"), "Dockerfile:1:5: invalid network mode \"bridge\"");
  EXPECT_EQ(Err("RUN --security=x x\n"), "Dockerfile:1:5: security \"x\" is not valid");
  EXPECT_EQ(Err("RUN --network x\n"), "Dockerfile:1:5: missing a value on flag: --network");
  EXPECT_EQ(Err("RUN --network=none --network=host x\n"),
            "Dockerfile:1:5: duplicate flag specified: --network");
}

TEST(Run, MountTypoSuggestsTheFlag) {
  EXPECT_EQ(Err("RUN --moutn=type=cache,target=/x make\n"),
            "Dockerfile:1:5: unknown flag: --moutn (did you mean mount?)");
}

TEST(Run, Mounts) {
  auto r = Get<RunInstr>(
      "RUN --mount=type=cache,target=/root/.cache,sharing=locked,mode=0755,uid=1,gid=2 "
      "--mount=type=bind,from=builder,source=/out,target=/in,rw "
      "--mount=type=secret,id=tok,required "
      "--mount=type=tmpfs,target=/t,size=64m "
      "--mount=type=ssh "
      "--mount=type=secret,id=aws,env=AWS_TOKEN x\n");
  ASSERT_EQ(r.mounts.size(), 6u);
  const Mount& cache = r.mounts[0];
  EXPECT_EQ(cache.type, "cache");
  EXPECT_EQ(cache.target, "/root/.cache");
  EXPECT_EQ(cache.id, "/root/.cache");
  EXPECT_EQ(cache.sharing, "locked");
  EXPECT_EQ(*cache.mode, 0755u);
  EXPECT_EQ(*cache.uid, 1u);
  EXPECT_EQ(*cache.gid, 2u);
  EXPECT_FALSE(cache.readonly);
  const Mount& bind = r.mounts[1];
  EXPECT_EQ(bind.type, "bind");
  EXPECT_EQ(bind.from, "builder");
  EXPECT_EQ(bind.source, "/out");
  EXPECT_FALSE(bind.readonly);
  const Mount& secret = r.mounts[2];
  EXPECT_EQ(secret.id, "tok");
  EXPECT_EQ(secret.target, "/run/secrets/tok");
  EXPECT_TRUE(secret.required);
  EXPECT_TRUE(secret.readonly);
  EXPECT_EQ(r.mounts[3].size_limit, 64 * 1024 * 1024);
  EXPECT_EQ(r.mounts[4].id, "default");
  EXPECT_EQ(r.mounts[4].target, "/run/buildkit/ssh_agent.0");
  EXPECT_EQ(*r.mounts[5].env, "AWS_TOKEN");
  EXPECT_EQ(r.mounts[5].target, "");
}

TEST(Run, MountErrors) {
  auto e = [](const char* spec) {
    auto m = ParseMount(spec);
    return m.ok() ? std::string("ok") : m.error().message;
  };
  EXPECT_EQ(e("type=cahce,target=/x"), "unsupported mount type \"cahce\" (did you mean cache?)");
  EXPECT_EQ(e("type=cache,target=/x,sharing=lockd"),
            "unsupported sharing value \"lockd\" (did you mean locked?)");
  EXPECT_EQ(e("type=cache,targte=/x"),
            "unexpected key 'targte' in 'targte=/x' (did you mean target?)");
  EXPECT_EQ(e("type=bind,target=/x,mode=0644"), "mode not allowed for \"bind\" type mounts");
  EXPECT_EQ(e("type=tmpfs,target=/x,uid=1"), "uid not allowed for \"tmpfs\" type mounts");
  EXPECT_EQ(e("type=bind,target=/x,gid=1"), "gid not allowed for \"bind\" type mounts");
  EXPECT_EQ(e("type=bind,target=/x,required"), "unexpected key 'required' for mount type 'bind'");
  EXPECT_EQ(e("type=cache,target=/x,size=1m"), "unexpected key 'size' for mount type 'cache'");
  EXPECT_EQ(e("type=tmpfs,target=/x,size=lots"), "invalid value for size: lots");
  EXPECT_EQ(e("type=cache,target=/x,mode=9"), "invalid value 9 for mode");
  EXPECT_EQ(e("type=cache,target=/x,uid=-1"), "invalid value -1 for uid");
  EXPECT_EQ(e("type=bind,target=/x,ro=maybe"), "invalid value for ro: maybe");
  EXPECT_EQ(e("type=bind,target=/x,foo"), "invalid field 'foo' must be a key=value pair");
  EXPECT_EQ(e("type=secret,from=x,id=a"), "secret mount should not have a from");
  EXPECT_EQ(e("type=secret,id=a,sharing=shared"), "secret mount should not define sharing");
  EXPECT_EQ(e("type=secret"), "invalid secret mount. one of source, target required");
  EXPECT_EQ(e("type=secret,source=a,id=b"), "both source and id can't be set");
  EXPECT_EQ(e("type=bind,target=/x,sharing=private"), "invalid cache sharing set for bind mount");
  EXPECT_EQ(e("type=bind,from=$X/y,target=/x"),
            "'from' doesn't support variable expansion, define alias stage instead");
  EXPECT_EQ(e("type=bind"), "mount type 'bind' requires a target");
  EXPECT_EQ(e("type=bind,\"target=/x"),
            "failed to parse csv mounts: extraneous or missing \" in quoted-field (column 11)");
  EXPECT_EQ(e("type=bind,target=\"/x"),
            "failed to parse csv mounts: bare \" in non-quoted-field (column 18)");
  // A quoted CSV field may contain commas.
  auto quoted = ParseMount("type=bind,\"target=/x,y\",\"source=a\"\"b\"");
  ASSERT_TRUE(quoted.ok()) << quoted.error().message;
  EXPECT_EQ(quoted->target, "/x,y");
  EXPECT_EQ(quoted->source, "a\"b");
  EXPECT_EQ(Err("RUN --mount=type=cahce,target=/x x\n"),
            "Dockerfile:1:13: unsupported mount type \"cahce\" (did you mean cache?)");
}

TEST(Run, MountValuesWithVariablesWaitForExpansion) {
  auto r = Get<RunInstr>("RUN --mount=type=cache,target=$DIR,id=${ID} x\n");
  ASSERT_EQ(r.mounts.size(), 1u);
  EXPECT_EQ(r.mounts[0].target, "$DIR");
  Instruction instr = r;
  ShellLex lex;
  ASSERT_TRUE(ExpandInstruction(&instr, Env{{"DIR", "/c"}, {"ID", "go"}}, lex).ok());
  const auto& m = std::get<RunInstr>(instr).mounts[0];
  EXPECT_EQ(m.target, "/c");
  EXPECT_EQ(m.id, "go");
}

TEST(Run, DeviceFlag) {
  EXPECT_EQ(Get<RunInstr>("RUN --device=/dev/fuse x\n").devices,
            std::vector<std::string>{"/dev/fuse"});
}

TEST(Copy, AllFlags) {
  auto c = Get<CopyInstr>(
      "COPY --from=build --chown=app:app --chmod=0644 --link --parents --exclude=*.md "
      "--exclude=.git a b /dst/\n");
  EXPECT_FALSE(c.is_add);
  EXPECT_EQ(c.from, "build");
  EXPECT_EQ(c.chown, "app:app");
  EXPECT_EQ(c.chmod, "0644");
  EXPECT_TRUE(c.link);
  EXPECT_TRUE(c.parents);
  EXPECT_EQ(c.excludes, (std::vector<std::string>{"*.md", ".git"}));
  EXPECT_EQ(c.sources, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.dest, "/dst/");
  EXPECT_FALSE(Get<CopyInstr>("COPY --link=false a b\n").link);
  EXPECT_EQ(Err("COPY a\n"),
            "Dockerfile:1:1: COPY requires at least two arguments, but only one was provided. "
            "Destination could not be determined");
  EXPECT_EQ(Err("COPY --checksum=sha256:x a b\n"), "Dockerfile:1:6: unknown flag: --checksum");
  EXPECT_EQ(Err("COPY --link=maybe a b\n"),
            "Dockerfile:1:6: expecting boolean value for flag --link, not: maybe");
  EXPECT_EQ(Err("COPY --link= a b\n"), "Dockerfile:1:6: missing a value on flag: --link");
  EXPECT_EQ(Err("COPY --form=x a b\n"),
            "Dockerfile:1:6: unknown flag: --form (did you mean from?)");
}

TEST(Add, AllFlags) {
  auto a = Get<CopyInstr>(
      "ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false --chown=1 --chmod=755 "
      "--link --exclude=x https://example.com/a.tar /a\n");
  EXPECT_TRUE(a.is_add);
  EXPECT_EQ(a.checksum, "sha256:abc");
  EXPECT_EQ(a.keep_git_dir, std::optional<bool>(true));
  EXPECT_EQ(a.unpack, std::optional<bool>(false));
  EXPECT_EQ(a.sources, std::vector<std::string>{"https://example.com/a.tar"});
  EXPECT_EQ(Get<CopyInstr>("ADD a b\n").keep_git_dir, std::nullopt);
  EXPECT_EQ(Err("ADD --from=x a b\n"), "Dockerfile:1:5: unknown flag: --from");
  EXPECT_EQ(Err("ADD --parents a b\n"), "Dockerfile:1:5: unknown flag: --parents");
  EXPECT_EQ(Err("ADD x\n"),
            "Dockerfile:1:1: ADD requires at least two arguments, but only one was provided. "
            "Destination could not be determined");
}

TEST(Simple, WorkdirUserStopsignalMaintainer) {
  EXPECT_EQ(Get<WorkdirInstr>("WORKDIR /a b\n").path, "/a b");
  EXPECT_EQ(Get<UserInstr>("USER app:app\n").user, "app:app");
  EXPECT_EQ(Get<StopSignalInstr>("STOPSIGNAL SIGTERM\n").signal, "SIGTERM");
  EXPECT_EQ(Get<MaintainerInstr>("MAINTAINER Jane <j@x>\n").maintainer, "Jane <j@x>");
  EXPECT_EQ(Err("WORKDIR\n"), "Dockerfile:1:1: WORKDIR requires exactly one argument");
  EXPECT_EQ(Err("USER\n"), "Dockerfile:1:1: USER requires exactly one argument");
  EXPECT_EQ(Err("STOPSIGNAL\n"), "Dockerfile:1:1: STOPSIGNAL requires exactly one argument");
  EXPECT_EQ(Err("MAINTAINER\n"), "Dockerfile:1:1: MAINTAINER requires exactly one argument");
}

TEST(Simple, ExposeVolume) {
  EXPECT_EQ(Get<ExposeInstr>("EXPOSE 80/tcp 443 53/udp\n").ports,
            (std::vector<std::string>{"443", "53/udp", "80/tcp"}));
  EXPECT_EQ(Get<VolumeInstr>("VOLUME /a /b\n").volumes, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(Get<VolumeInstr>("VOLUME [\"/a\", \"/b c\"]\n").volumes,
            (std::vector<std::string>{"/a", "/b c"}));
  EXPECT_EQ(Err("EXPOSE\n"), "Dockerfile:1:1: EXPOSE requires at least one argument");
  EXPECT_EQ(Err("VOLUME\n"), "Dockerfile:1:1: VOLUME requires at least one argument");
  EXPECT_EQ(Err("VOLUME [\" \"]\n"), "Dockerfile:1:1: VOLUME specified can not be an empty string");
}

TEST(CmdEntrypointShell, Forms) {
  auto cmd = Get<CmdInstr>("CMD [\"nginx\", \"-g\", \"daemon off;\"]\n");
  EXPECT_FALSE(cmd.command.shell_form);
  EXPECT_EQ(cmd.command.args.size(), 3u);
  EXPECT_TRUE(Get<CmdInstr>("CMD echo hi\n").command.shell_form);
  EXPECT_TRUE(Get<EntrypointInstr>("ENTRYPOINT []\n").command.args.empty());
  EXPECT_EQ(Get<ShellInstr>("SHELL [\"/bin/bash\", \"-eo\", \"pipefail\", \"-c\"]\n").shell.size(),
            4u);
  EXPECT_EQ(Err("SHELL /bin/bash -c\n"),
            "Dockerfile:1:1: SHELL requires the arguments to be in JSON form");
  EXPECT_EQ(Err("SHELL []\n"), "Dockerfile:1:1: SHELL requires at least one argument");
}

TEST(Healthcheck, Forms) {
  auto h = Get<HealthcheckInstr>(
      "HEALTHCHECK --interval=30s --timeout=1m30s --start-period=1.5s --start-interval=500ms "
      "--retries=3 CMD curl -f http://localhost/\n");
  EXPECT_EQ(h.test, (std::vector<std::string>{"CMD-SHELL", "curl -f http://localhost/"}));
  EXPECT_EQ(h.interval_ns, 30'000'000'000);
  EXPECT_EQ(h.timeout_ns, 90'000'000'000);
  EXPECT_EQ(h.start_period_ns, 1'500'000'000);
  EXPECT_EQ(h.start_interval_ns, 500'000'000);
  EXPECT_EQ(h.retries, 3);
  EXPECT_EQ(Get<HealthcheckInstr>("HEALTHCHECK CMD [\"/bin/check\"]\n").test,
            (std::vector<std::string>{"CMD", "/bin/check"}));
  EXPECT_EQ(Get<HealthcheckInstr>("HEALTHCHECK none\n").test, std::vector<std::string>{"NONE"});
  EXPECT_EQ(Err("HEALTHCHECK\n"), "Dockerfile:1:1: HEALTHCHECK requires at least one argument");
  EXPECT_EQ(Err("HEALTHCHECK NONE x\n"), "Dockerfile:1:1: HEALTHCHECK NONE takes no arguments");
  EXPECT_EQ(Err("HEALTHCHECK CMD\n"), "Dockerfile:1:1: Missing command after HEALTHCHECK CMD");
  EXPECT_EQ(Err("HEALTHCHECK CONNECT x\n"),
            "Dockerfile:1:1: Unknown type \"CONNECT\" in HEALTHCHECK (try CMD)");
  EXPECT_EQ(Err("HEALTHCHECK --interval=1us CMD x\n"),
            "Dockerfile:1:13: Interval \"interval\" cannot be less than 1ms");
  EXPECT_EQ(Err("HEALTHCHECK --timeout=5 CMD x\n"),
            "Dockerfile:1:13: time: missing unit in duration \"5\"");
  EXPECT_EQ(Err("HEALTHCHECK --timeout=5y CMD x\n"),
            "Dockerfile:1:13: time: unknown unit \"y\" in duration \"5y\"");
  EXPECT_EQ(Err("HEALTHCHECK --retries=-1 CMD x\n"),
            "Dockerfile:1:13: --retries cannot be negative (-1)");
  EXPECT_EQ(Err("HEALTHCHECK --retries=x CMD x\n"),
            "Dockerfile:1:13: strconv.ParseInt: parsing \"x\": invalid syntax");
  EXPECT_EQ(Err("HEALTHCHECK --intervl=1s CMD x\n"),
            "Dockerfile:1:13: unknown flag: --intervl (did you mean interval?)");
}

TEST(Onbuild, Triggers) {
  EXPECT_EQ(Get<OnbuildInstr>("ONBUILD RUN make\n").expression, "RUN make");
  EXPECT_EQ(Err("ONBUILD ONBUILD RUN x\n"),
            "Dockerfile:1:1: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  EXPECT_EQ(Err("ONBUILD FROM x\n"), "Dockerfile:1:1: FROM isn't allowed as an ONBUILD trigger");
  EXPECT_EQ(Err("ONBUILD maintainer x\n"),
            "Dockerfile:1:1: MAINTAINER isn't allowed as an ONBUILD trigger");
  EXPECT_EQ(Err("ONBUILD\n"), "Dockerfile:1:1: ONBUILD requires at least one argument");
}

TEST(Unknown, SuggestsTheNearestInstruction) {
  EXPECT_EQ(Err("RUNN make\n"), "Dockerfile:1:1: unknown instruction: RUNN (did you mean RUN?)");
  EXPECT_EQ(Err("  copyy a b\n"),
            "Dockerfile:1:3: unknown instruction: copyy (did you mean copy?)");
  EXPECT_EQ(Err("XYZZY\n"), "Dockerfile:1:1: unknown instruction: XYZZY");
}

TEST(Durations, GoSyntax) {
  EXPECT_EQ(*ParseGoDuration("0"), 0);
  EXPECT_EQ(*ParseGoDuration("1h2m3s"), 3723'000'000'000);
  EXPECT_EQ(*ParseGoDuration("1.5ms"), 1'500'000);
  EXPECT_EQ(*ParseGoDuration("2us"), 2000);
  EXPECT_EQ(*ParseGoDuration("2\xC2\xB5s"), 2000);
  EXPECT_EQ(*ParseGoDuration("-3s"), -3'000'000'000);
  EXPECT_EQ(ParseGoDuration("").error().message, "time: invalid duration \"\"");
  EXPECT_EQ(ParseGoDuration("s").error().message, "time: invalid duration \"s\"");
  EXPECT_EQ(FormatGoDuration(90'000'000'000), "1m30s");
  EXPECT_EQ(FormatGoDuration(1'500'000'000), "1.5s");
  EXPECT_EQ(FormatGoDuration(500'000'000), "500ms");
  EXPECT_EQ(FormatGoDuration(0), "0s");
  EXPECT_EQ(FormatGoDuration(3600'000'000'000), "1h0m0s");
}

TEST(Expand, WhichWordsExpand) {
  ShellLex lex;
  Env env{{"A", "x"}, {"DIR", "/d"}, {"P", "80 443"}};
  auto expand = [&](std::string_view df) {
    auto s = One(df);
    EXPECT_TRUE(s.ok());
    Instruction instr = s->instr;
    auto st = ExpandInstruction(&instr, env, lex);
    EXPECT_TRUE(st.ok()) << st.error().message;
    return instr;
  };
  auto e = std::get<EnvInstr>(expand("ENV K_$A=\"v $A\"\n"));
  EXPECT_EQ(e.vars[0].key, "K_x");
  EXPECT_EQ(e.vars[0].value, "v x");
  auto c = std::get<CopyInstr>(expand("COPY --chown=$A $DIR/s ${DIR}/t\n"));
  EXPECT_EQ(c.chown, "x");
  EXPECT_EQ(c.sources, std::vector<std::string>{"/d/s"});
  EXPECT_EQ(c.dest, "/d/t");
  EXPECT_EQ(std::get<WorkdirInstr>(expand("WORKDIR $DIR\n")).path, "/d");
  EXPECT_EQ(std::get<UserInstr>(expand("USER ${A:-nobody}\n")).user, "x");
  // Sorted before expansion only, as BuildKit: the variable's order stays.
  EXPECT_EQ(std::get<ExposeInstr>(expand("EXPOSE $P\n")).ports,
            (std::vector<std::string>{"80", "443"}));
  EXPECT_EQ(std::get<VolumeInstr>(expand("VOLUME $DIR\n")).volumes, std::vector<std::string>{"/d"});
  EXPECT_EQ(std::get<StopSignalInstr>(expand("STOPSIGNAL $A\n")).signal, "x");
  EXPECT_EQ(*std::get<ArgInstr>(expand("ARG B=$A\n")).args[0].value, "x");
  EXPECT_EQ(std::get<LabelInstr>(expand("LABEL l=$A\n")).labels[0].value, "x");
  // The shell expands RUN/CMD at run time; the builder leaves them alone.
  EXPECT_EQ(std::get<RunInstr>(expand("RUN echo $A\n")).command.args[0], "echo $A");
  EXPECT_EQ(std::get<CmdInstr>(expand("CMD echo $A\n")).command.args[0], "echo $A");
}

TEST(Expand, EveryOperatorThroughEnv) {
  ShellLex lex;
  Env env{{"SET", "/usr/local/bin"}, {"EMPTY", ""}, {"F", "archive.tar.gz"}};
  auto value = [&](const std::string& word) -> std::string {
    auto s = One("ENV K=" + word + "\n");
    if (!s.ok()) return "parse error";
    Instruction instr = s->instr;
    auto st = ExpandInstruction(&instr, env, lex);
    if (!st.ok()) return "error: " + st.error().message;
    return std::get<EnvInstr>(instr).vars[0].value;
  };
  EXPECT_EQ(value("$SET"), "/usr/local/bin");
  EXPECT_EQ(value("${SET}x"), "/usr/local/binx");
  EXPECT_EQ(value("${UNSET:-dflt}"), "dflt");
  EXPECT_EQ(value("${EMPTY:-dflt}"), "dflt");
  EXPECT_EQ(value("${EMPTY-dflt}"), "");
  EXPECT_EQ(value("${UNSET-dflt}"), "dflt");
  EXPECT_EQ(value("${SET:+alt}"), "alt");
  EXPECT_EQ(value("${EMPTY:+alt}"), "");
  EXPECT_EQ(value("${EMPTY+alt}"), "alt");
  EXPECT_EQ(value("${UNSET+alt}"), "");
  EXPECT_EQ(value("${F#*.}"), "tar.gz");
  EXPECT_EQ(value("${F##*.}"), "gz");
  EXPECT_EQ(value("${F%.*}"), "archive.tar");
  EXPECT_EQ(value("${F%%.*}"), "archive");
  EXPECT_EQ(value("${SET/local/opt}"), "/usr/opt/bin");
  EXPECT_EQ(value("${SET//\\//:}"), ":usr:local:bin");
  EXPECT_EQ(value("'$SET'"), "$SET");
  EXPECT_EQ(value("\"$SET\""), "/usr/local/bin");
  EXPECT_EQ(value("\\$SET"), "$SET");
  std::string required = value("${UNSET:?must_be_set}");
  EXPECT_EQ(required.rfind("error: ", 0), 0u) << required;
  EXPECT_NE(required.find("must_be_set"), std::string::npos) << required;
  // An unquoted space ends the word: the parser sees a second, '='-less word.
  EXPECT_EQ(value("${UNSET:?must be set}"), "parse error");
}

TEST(Expand, BacktickEscapeDirective) {
  auto f = ParseDockerfile("# escape=`\nENV P=C:\\dir`$HOME\n");
  ASSERT_TRUE(f.ok());
  auto s = ParseInstruction(*f, f->nodes[0]);
  ASSERT_TRUE(s.ok());
  Instruction instr = s->instr;
  ASSERT_TRUE(ExpandInstruction(&instr, Env{{"HOME", "/root"}}, ShellLex('`')).ok());
  EXPECT_EQ(std::get<EnvInstr>(instr).vars[0].value, "C:\\dir$HOME");
}

TEST(Expand, CopyHeredocBodies) {
  auto f = ParseDockerfile("COPY <<A <<'B' /d/\necho \"$X\" '$X'\nA\nkeep $X\nB\n");
  ASSERT_TRUE(f.ok());
  auto s = ParseInstruction(*f, f->nodes[0]);
  ASSERT_TRUE(s.ok());
  Instruction instr = s->instr;
  ASSERT_TRUE(ExpandInstruction(&instr, Env{{"X", "1"}}, ShellLex()).ok());
  const auto& c = std::get<CopyInstr>(instr);
  EXPECT_EQ(c.contents[0].data, "echo \"1\" '1'\n");
  EXPECT_EQ(c.contents[1].data, "keep $X\n");
}

TEST(Format, CanonicalLines) {
  auto s = One("RUN --mount=type=cache,target=/c --network=none make\n");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(FormatInstruction(*s),
            "RUN --mount=type=cache,target=/c,id=/c,sharing=shared --network=none make");
  auto c = One("COPY --from=b --link a /x\n");
  EXPECT_EQ(FormatInstruction(*c), "COPY --from=b --link a /x");
  auto h = One("HEALTHCHECK --interval=90s CMD [\"a\"]\n");
  EXPECT_EQ(FormatInstruction(*h), "HEALTHCHECK --interval=1m30s CMD [\"a\"]");
  auto hs = One("HEALTHCHECK --retries=2 CMD curl -f http://x/\n");
  EXPECT_EQ(FormatInstruction(*hs), "HEALTHCHECK --retries=2 CMD curl -f http://x/");
  EXPECT_EQ(FormatInstruction(*One("HEALTHCHECK NONE\n")), "HEALTHCHECK NONE");
}

}  // namespace
}  // namespace ocibuild::dockerfile
