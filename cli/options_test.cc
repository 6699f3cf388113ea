#include "cli/options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ocibuild::cli {
namespace {

Result<Options> Parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  return ParseArgs(args, env);
}

std::string Err(std::vector<std::string> args) {
  auto r = Parse(std::move(args));
  return r.ok() ? "<ok>" : r.error().message;
}

TEST(Options, TypicalBuild) {
  auto o = Parse({"-f", "sub/Dockerfile", "-t", "ghcr.io/org/img:1", "--tag=ghcr.io/org/img:latest",
                  "--build-arg", "A=1", "--build-arg", "FROMENV", "--label", "k=v=w", "--target",
                  "final", "--platform", "linux/arm/v7", "--no-cache", "--progress=plain", "."},
                 {{"FROMENV", "xyz"}});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->command, Command::kBuild);
  EXPECT_EQ(o->dockerfile, "sub/Dockerfile");
  EXPECT_EQ(o->tags, (std::vector<std::string>{"ghcr.io/org/img:1", "ghcr.io/org/img:latest"}));
  ASSERT_EQ(o->build_args.size(), 2u);
  EXPECT_EQ(o->build_args[1], (std::pair<std::string, std::string>{"FROMENV", "xyz"}));
  EXPECT_EQ(o->labels[0].second, "v=w");
  EXPECT_EQ(o->target, "final");
  EXPECT_EQ(o->platforms, std::vector<std::string>{"linux/arm/v7"});
  EXPECT_TRUE(o->no_cache);
  EXPECT_EQ(o->progress, Progress::kPlain);
  EXPECT_EQ(o->context_dir, ".");
}

TEST(Options, BareBuildArgNotInEnvIsIgnored) {
  auto o = Parse({"--build-arg", "MISSING", "."});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->build_args.empty());
}

TEST(Options, Outputs) {
  auto o = Parse({"-o", "type=oci,dest=out.tar", "--output", "./dir", "--no-push", "ctx"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  ASSERT_EQ(o->outputs.size(), 2u);
  EXPECT_EQ(o->outputs[0].type, "oci");
  EXPECT_EQ(o->outputs[0].attrs.at("dest"), "out.tar");
  EXPECT_EQ(o->outputs[1].type, "local");
  EXPECT_EQ(o->push, std::optional<bool>(false));
}

TEST(Options, SecretsAndCache) {
  auto o = Parse({"--secret", "id=npm,src=/tmp/npmrc", "--secret", "id=TOKEN", "--cache-from",
                  "type=registry,ref=localhost:5000/c", "--cache-to", "localhost:5000/c", "."},
                 {{"TOKEN", "t"}});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->secrets[0].src, "/tmp/npmrc");
  EXPECT_EQ(o->secrets[1].env, "TOKEN");
  EXPECT_EQ(o->cache_from[0].attrs.at("ref"), "localhost:5000/c");
  EXPECT_EQ(o->cache_to[0].type, "registry");
}

TEST(Options, SshAgentSockets) {
  auto o = Parse({"--ssh", "default", "--ssh", "git=/run/agent.sock", "."},
                 {{"SSH_AUTH_SOCK", "/tmp/ssh-x/agent.1"}});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->ssh.at("default"), "/tmp/ssh-x/agent.1");
  EXPECT_EQ(o->ssh.at("git"), "/run/agent.sock");
  EXPECT_EQ(Err({"--ssh", "default", "."}),
            "invalid argument for --ssh: --ssh default: no socket given and SSH_AUTH_SOCK is not "
            "set");
  EXPECT_EQ(Err({"--ssh", "k=a.pem,b.pem", "."}),
            "invalid argument for --ssh: --ssh k: key files are not supported; forward an "
            "ssh-agent socket");
}

TEST(Options, PreciseErrors) {
  EXPECT_EQ(Err({"--tga", "x", "."}),
            "unknown flag: --tga (did you mean --tag?)\nSee 'ocibuild --help'.");
  EXPECT_EQ(Err({"--zzzzzzzz", "."}), "unknown flag: --zzzzzzzz\nSee 'ocibuild --help'.");
  EXPECT_EQ(Err({"-t"}), "flag needs an argument: -t");
  EXPECT_EQ(Err({"--progress", "fancy", "."}),
            "invalid argument for --progress: \"fancy\": one of auto, plain, tty, quiet");
  EXPECT_EQ(
      Err({"--platform", "amd64", "."}),
      "invalid argument for --platform: \"amd64\": expected os/arch[/variant], e.g. linux/amd64");
  EXPECT_EQ(Err({"-o", "type=ocii,dest=x", "."}),
            "invalid argument for -o: unknown output type \"ocii\" (did you mean oci?); one of "
            "registry, image, oci, docker, tar, local");
  EXPECT_EQ(Err({"-o", "type=oci", "."}), "invalid argument for -o: type=oci needs dest=PATH");
  EXPECT_EQ(Err({"-t", "ghcr.io/Org/Img", "."}),
            "invalid argument for -t: \"ghcr.io/Org/Img\": invalid reference format: repository "
            "name must be lowercase");
  EXPECT_EQ(Err({}),
            "ocibuild requires exactly 1 argument (the build context, e.g. \".\")\n"
            "Usage: ocibuild [OPTIONS] CONTEXT\nSee 'ocibuild --help'.");
  EXPECT_EQ(Err({"a", "b"}),
            "ocibuild requires exactly 1 argument (the build context), got 2: a b");
  EXPECT_EQ(Err({"--no-cache=maybe", "."}),
            "invalid argument for --no-cache: \"maybe\": a boolean flag takes true or false");
  EXPECT_EQ(Err({"--secret", "src=x", "."}),
            "invalid argument for --secret: \"src=x\": missing id=");
}

TEST(Options, HelpVersionDoctor) {
  EXPECT_EQ(Parse({"--help"})->command, Command::kHelp);
  EXPECT_EQ(Parse({"--version"})->command, Command::kVersion);
  auto d = Parse({"doctor", "ghcr.io/org/img"});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->command, Command::kDoctor);
  EXPECT_EQ(d->doctor_refs, std::vector<std::string>{"ghcr.io/org/img"});
  EXPECT_EQ(Parse({"--print-plan", "."})->command, Command::kPrintPlan);
}

TEST(Options, BuildxFlags) {
  auto o = Parse({"--platform",
                  "linux/amd64,linux/arm64",
                  "--platform=linux/amd64",
                  "--provenance=mode=max,builder-id=https://ci.example/run/1",
                  "--sbom",
                  "--annotation",
                  "org.opencontainers.image.description=hello, world",
                  "--annotation",
                  "index,manifest-descriptor:com.example.k=v:w",
                  "--annotation",
                  "manifest[linux/arm64]:arch.only=yes",
                  "--build-context",
                  "base=docker-image://localhost:5000/base:1",
                  "--build-context",
                  "src=../src",
                  "--pull",
                  "--add-host",
                  "db.internal:10.0.0.7",
                  "--add-host",
                  "v6host=[fd00::1]",
                  "--network",
                  "none",
                  "--no-cache-filter",
                  "Build,test",
                  "--check",
                  "."});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->platforms, (std::vector<std::string>{"linux/amd64", "linux/arm64"}));
  const AttestSpec* prov = o->Attest("provenance");
  ASSERT_NE(prov, nullptr);
  EXPECT_EQ(prov->attrs.at("mode"), "max");
  EXPECT_EQ(prov->attrs.at("builder-id"), "https://ci.example/run/1");
  EXPECT_NE(o->Attest("sbom"), nullptr);
  ASSERT_EQ(o->annotations.size(), 3u);
  EXPECT_EQ(o->annotations[0].types, std::vector<std::string>{"manifest"});
  EXPECT_EQ(o->annotations[0].value, "hello, world");
  EXPECT_EQ(o->annotations[1].types, (std::vector<std::string>{"index", "manifest-descriptor"}));
  EXPECT_EQ(o->annotations[1].key, "com.example.k");
  EXPECT_EQ(o->annotations[1].value, "v:w");
  EXPECT_EQ(o->annotations[2].platform, "linux/arm64");
  EXPECT_EQ(o->build_contexts.size(), 2u);
  EXPECT_TRUE(o->pull);
  EXPECT_EQ(o->add_hosts[0], (std::pair<std::string, std::string>{"db.internal", "10.0.0.7"}));
  EXPECT_EQ(o->add_hosts[1], (std::pair<std::string, std::string>{"v6host", "fd00::1"}));
  EXPECT_EQ(o->network, "none");
  EXPECT_EQ(o->no_cache_filter, (std::vector<std::string>{"build", "test"}));
  EXPECT_EQ(o->call, "check");

  auto off = Parse({"--provenance=false", "--attest", "type=sbom,disabled=true", "."});
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->Attest("provenance"), nullptr);
  EXPECT_EQ(off->Attest("sbom"), nullptr);
  // An annotation key with a colon that is no type list stays whole.
  auto colon = Parse({"--annotation", "org.example:thing=1", "."});
  ASSERT_TRUE(colon.ok());
  EXPECT_EQ(colon->annotations[0].key, "org.example:thing");

  EXPECT_THAT(Err({"--attest", "type=vex", "."}), ::testing::HasSubstr("provenance or sbom"));
  EXPECT_THAT(Err({"--provenance=mode=full", "."}), ::testing::HasSubstr("one of min, max"));
  EXPECT_THAT(Err({"--network", "bridge", "."}), ::testing::HasSubstr("default, none, host"));
  EXPECT_THAT(Err({"--add-host", "nohost", "."}), ::testing::HasSubstr("HOST:IP"));
  EXPECT_THAT(Err({"--build-context", "x=https://example.com/a.tar", "."}),
              ::testing::HasSubstr("docker-image://"));
  EXPECT_THAT(Err({"--call", "outline", "."}), ::testing::HasSubstr("build and check"));
}

TEST(Options, ImagetoolsCreate) {
  auto o = Parse({"imagetools", "create", "-t", "r.example/app:1", "--annotation",
                  "index:org.opencontainers.image.description=multi", "r.example/app@sha256:aa",
                  "sha256:bb"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->command, Command::kImagetoolsCreate);
  EXPECT_EQ(o->sources, (std::vector<std::string>{"r.example/app@sha256:aa", "sha256:bb"}));
  EXPECT_THAT(Err({"imagetools", "create", "x@sha256:aa"}), ::testing::HasSubstr("-t"));
  EXPECT_THAT(Err({"imagetools", "inspect", "x"}), ::testing::HasSubstr("only"));
}

}  // namespace
}  // namespace ocibuild::cli

namespace ocibuild::cli {
namespace {

TEST(Options, LayerCompressionFromOutputAttributes) {
  auto o = Parse({"-o", "type=oci,dest=x,compression=zstd,compression-level=9", "."});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->compression, "zstd");
  EXPECT_EQ(o->compression_level, 9);
  auto d = Parse({"-o", "type=oci,dest=x", "."});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->compression, "");
  EXPECT_EQ(d->compression_level, -1);
  EXPECT_THAT(Err({"-o", "type=oci,dest=x,compression=lz4", "."}),
              ::testing::HasSubstr("one of gzip, zstd, uncompressed"));
  EXPECT_THAT(Err({"-o", "type=oci,dest=x,compression=gzip", "-o",
                   "type=docker,dest=y,compression=zstd", "."}),
              ::testing::HasSubstr("layers are shared"));
  EXPECT_THAT(Err({"-o", "type=oci,dest=x,compression-level=12", "."}),
              ::testing::HasSubstr("expected 1..9"));
  EXPECT_THAT(Err({"-o", "type=oci,dest=x,compression=zstd,compression-level=19", "."}), "<ok>");
  EXPECT_THAT(Err({"-o", "type=oci,dest=x,compression=uncompressed,compression-level=3", "."}),
              ::testing::HasSubstr("needs compression=gzip or zstd"));
}

}  // namespace
}  // namespace ocibuild::cli
