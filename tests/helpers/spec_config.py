"""The guardrails and proxies of the issue-4 spec example (README, Guardrails), shared by the
evaluator unit tests and the fuzz test's gateway."""

SPEC_GUARDRAILS = r"""
guardrails:
  pii-mask:     {type: pii, entities: [email, phone], direction: both, action: mask}
  secrets:      {type: secrets, direction: both, action: block}
  house-rules:
    type: rules
    patterns: {project_code: 'PRJ-\d{4}'}
    keywords: {codenames: [bluebird]}
    action: redact
  injection:
    type: injection
    flag_threshold: 0.5
    block_threshold: 0.8
    targets: [user, tool]
    untrusted_tool_results: true
  tools:
    type: tool_policies
    default_action: allow
    rules:
      - name: no-rm
        tool: run_shell
        when: [{argument: command, contains: "rm -rf"}]
        action: block
      - {name: mail-guard, tool: "send_*", action: block_when_context_untrusted}
  trust:
    type: trusted_data
    default_action: untrust
    rules:
      - {name: weather-ok, tool: get_weather, action: trust}
      - {name: no-keys, tool: "*", when: [{contains: "BEGIN PRIVATE KEY"}], action: block}
proxies:
  - {name: Default, id: default, guardrails: []}
  - {name: Guarded, guardrails: [pii-mask, secrets, house-rules, injection, tools, trust]}
default_proxy: default
"""
