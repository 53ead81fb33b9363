/**
 * What an entry point offers, read with the TypeScript compiler: its export names, and the named types
 * of longrun that its public signatures use but it does not export (a user could not name them).
 */
import { join, sep } from 'node:path';
import ts from 'typescript';

const SRC = join(__dirname, '..', '..', 'src') + sep;

function programFor(entry: string): { checker: ts.TypeChecker; exports: ts.Symbol[] } {
  const program = ts.createProgram([entry], {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: ['node'],
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`${entry} is not a module`);
  return { checker, exports: checker.getExportsOfModule(moduleSymbol) };
}

/** The names an entry point exports. */
export function publicExports(entry: string): string[] {
  return programFor(entry)
    .exports.map((s) => s.name)
    .sort();
}

function resolved(checker: ts.TypeChecker, symbol: ts.Symbol): ts.Symbol {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

function declaredInLongrun(symbol: ts.Symbol | undefined): boolean {
  return (symbol?.declarations ?? []).some((d) => d.getSourceFile().fileName.startsWith(SRC));
}

const NAMED =
  ts.SymbolFlags.Interface | ts.SymbolFlags.Class | ts.SymbolFlags.TypeAlias | ts.SymbolFlags.Enum;

function isPublicMember(symbol: ts.Symbol): boolean {
  if (symbol.name.startsWith('#') || symbol.name.startsWith('__')) return false;
  return !(symbol.declarations ?? []).some(
    (d) => ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)
  );
}

/**
 * Named longrun types reachable from the entry point's exported values and types (through properties,
 * parameters, return types, type arguments, unions) that the entry point does not export: name → where
 * it was reached from.
 */
export function unexportedSignatureTypes(entry: string): Record<string, string> {
  const { checker, exports } = programFor(entry);
  const exported = new Set(exports.map((s) => resolved(checker, s)));
  const missing: Record<string, string> = {};
  const seen = new Set<ts.Type>();

  const visitSymbolType = (symbol: ts.Symbol | undefined, from: string): void => {
    if (!symbol || !(symbol.flags & NAMED) || !declaredInLongrun(symbol)) return;
    if (!exported.has(symbol) && !(symbol.name in missing)) missing[symbol.name] = from;
  };

  const visit = (type: ts.Type, from: string, depth: number): void => {
    if (seen.has(type) || depth > 8) return;
    seen.add(type);
    visitSymbolType(type.aliasSymbol, from);
    for (const arg of type.aliasTypeArguments ?? []) visit(arg, from, depth + 1);
    if (type.isUnionOrIntersection()) {
      for (const part of type.types) visit(part, from, depth + 1);
      return;
    }
    if (!type.aliasSymbol) visitSymbolType(type.symbol, from);
    if (type.flags & ts.TypeFlags.Object) {
      const reference = type as ts.TypeReference;
      if ((reference.objectFlags ?? 0) & ts.ObjectFlags.Reference) {
        for (const arg of checker.getTypeArguments(reference)) visit(arg, from, depth + 1);
      }
      // Types from libraries (zod, the SDK) are theirs to export; walk only longrun's own shapes.
      if (type.symbol && !declaredInLongrun(type.symbol) && !(type.symbol.flags & ts.SymbolFlags.TypeLiteral))
        return;
      for (const property of type.getProperties()) {
        if (!isPublicMember(property)) continue;
        const declaration = property.valueDeclaration ?? property.declarations?.[0];
        if (!declaration) continue;
        visit(
          checker.getTypeOfSymbolAtLocation(property, declaration),
          `${from}.${property.name}`,
          depth + 1
        );
      }
      for (const signature of [...type.getCallSignatures(), ...type.getConstructSignatures()]) {
        for (const parameter of signature.getParameters()) {
          const declaration = parameter.valueDeclaration ?? parameter.declarations?.[0];
          if (declaration)
            visit(
              checker.getTypeOfSymbolAtLocation(parameter, declaration),
              `${from}(${parameter.name})`,
              depth + 1
            );
        }
        visit(signature.getReturnType(), `${from}()`, depth + 1);
      }
    }
  };

  for (const symbol of exports) {
    const target = resolved(checker, symbol);
    const declaration = target.valueDeclaration ?? target.declarations?.[0];
    if (!declaration) continue;
    if (target.flags & (ts.SymbolFlags.Value | ts.SymbolFlags.Class)) {
      visit(checker.getTypeOfSymbolAtLocation(target, declaration), symbol.name, 0);
    }
    if (target.flags & NAMED) visit(checker.getDeclaredTypeOfSymbol(target), symbol.name, 0);
  }
  return missing;
}
