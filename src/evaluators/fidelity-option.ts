import { z } from "zod";

/** The `fidelity:` option of user evaluators (command, module): the resource their code understands and its range. */
export const fidelityOption = z
  .strictObject({ resource: z.string().min(1), min: z.number().positive(), max: z.number().positive() })
  .refine((f) => f.min <= f.max, { message: "min must not be above max" })
  .optional();
