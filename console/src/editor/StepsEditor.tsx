import { useEffect, useRef, useState } from 'react';
import { autocompletion, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { yaml } from '@codemirror/lang-yaml';
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { tags } from '@lezer/highlight';
import { linter, lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { offsetOfPath, stepIssue } from './yaml-doc';

/**
 * Syntax colours from the console's CSS variables, so they follow the light or dark scheme and
 * keep AA contrast in both (CodeMirror's default colours are for a light background only).
 */
const highlight = HighlightStyle.define([
  { tag: [tags.propertyName, tags.definition(tags.propertyName), tags.attributeName, tags.labelName], color: 'var(--syn-key)' },
  { tag: [tags.string, tags.special(tags.string), tags.content], color: 'var(--syn-string)' },
  { tag: [tags.number, tags.bool, tags.null, tags.atom, tags.keyword], color: 'var(--syn-atom)' },
  { tag: [tags.comment, tags.meta, tags.processingInstruction], color: 'var(--syn-comment)', fontStyle: 'italic' },
  { tag: [tags.typeName, tags.tagName, tags.operator, tags.punctuation, tags.separator, tags.brace, tags.squareBracket], color: 'var(--fg)' },
  { tag: tags.invalid, color: 'var(--bad)' },
]);

/** Options of the steps editor. */
export interface StepsEditorProps {
  /** The YAML text (controlled from outside only at mount and when `resetKey` changes). */
  value: string;
  resetKey: string;
  onChange: (text: string) => void;
  /** Names offered as completions: memory variables, step outputs, `secrets.NAME`. */
  variables: string[];
  /** The server's save-time errors (`steps.N.field: message`), shown at their line. */
  issues: string[];
  /** Id of the element that labels the editor. */
  labelledBy: string;
}

/**
 * CodeMirror 6 on the steps document: YAML highlighting, the server's validation errors as
 * diagnostics at the line they name, and the workflow's variables as completions.
 */
export default function StepsEditor(props: StepsEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const variables = useRef(props.variables);
  variables.current = props.variables;
  const [located, setLocated] = useState<{ line: number; message: string }[]>([]);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;

  useEffect(() => {
    const complete = (context: CompletionContext): CompletionResult | null => {
      const word = context.matchBefore(/[\w.]*/);
      if (word === null || (word.from === word.to && !context.explicit)) return null;
      return { from: word.from, options: variables.current.map((label) => ({ label, type: label.startsWith('secrets.') ? 'constant' : 'variable' })) };
    };
    const state = EditorState.create({
      doc: props.value,
      extensions: [
        basicSetup,
        yaml(),
        syntaxHighlighting(highlight),
        lintGutter(),
        linter(() => [], { delay: 100000 }),
        autocompletion({ override: [complete] }),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ 'aria-labelledby': props.labelledBy, 'aria-multiline': 'true' }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onChange.current(update.state.doc.toString());
        }),
      ],
    });
    view.current = new EditorView({ state, parent: host.current as HTMLDivElement });
    return () => view.current?.destroy();
    // Recreated only when the document is replaced from outside (another workflow loaded).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.resetKey]);

  useEffect(() => {
    const editor = view.current;
    if (editor === null) return;
    const text = editor.state.doc.toString();
    const diagnostics: Diagnostic[] = [];
    const lines: { line: number; message: string }[] = [];
    for (const detail of props.issues) {
      const issue = stepIssue(detail);
      if (issue === null) continue;
      const from = offsetOfPath(text, issue.path) ?? 0;
      const line = editor.state.doc.lineAt(Math.min(from, text.length));
      diagnostics.push({ from: line.from, to: line.to, severity: 'error', message: `${issue.path.join('.')}: ${issue.message}` });
      lines.push({ line: line.number, message: `${issue.path.join('.')}: ${issue.message}` });
    }
    setLocated(lines);
    editor.dispatch(setDiagnostics(editor.state, diagnostics));
  }, [props.issues]);

  return (
    <>
      <div ref={host} className="steps-editor" data-testid="steps-editor" />
      {located.length > 0 && (
        <div role="alert" aria-label="Errors in the steps" className="alert error">
          <ul>{located.map((issue) => <li key={`${issue.line}:${issue.message}`}>Line {issue.line}: {issue.message}</li>)}</ul>
        </div>
      )}
    </>
  );
}
