// How a mini-program uses the generated types (compiled by tests/test_typed_client.py).
import type { components, paths } from "./citygate-api";

type Schemas = components["schemas"];
type SubmitBody = paths["/api/v1/applications"]["post"]["requestBody"]["content"]["application/json"];
type Submitted = paths["/api/v1/applications"]["post"]["responses"][201]["content"]["application/json"];
type Problem = Schemas["Problem"];

export const submit: SubmitBody = {
  service_code: "GA-0001",
  form: { applicant: { name: "张三" } },
  materials: { id_card: ["f_0123456789abcdef"] },
  delivery: { method: "pickup" },
};

export function headline(application: Submitted): string {
  const due = application.deadline?.due_date ?? "—";
  return `${application.application_no} ${application.status_label} ${due}`;
}

export function firstFieldError(problem: Problem): string | undefined {
  return problem.errors?.[0]?.field;
}

// The types are real, not `any`: each line below must fail to compile.
// @ts-expect-error service_code is required
export const missingCode: SubmitBody = { form: {} };
// @ts-expect-error timeline is a list of entries, not text
export const wrongTimeline: Submitted["timeline"] = "none";
