// Module resolution hooks that make every import of 'ts-mls' load the release as published
// (the devDependency alias 'ts-mls-unpatched'): what an install with --ignore-scripts, or a
// copy of the packages made without patches/, would run.
export async function resolve(specifier, context, nextResolve) {
  return nextResolve(specifier === 'ts-mls' ? 'ts-mls-unpatched' : specifier, context);
}
