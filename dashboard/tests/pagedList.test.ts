/** The paged list of the Runs and Odds pages: its states, and the trail of page tokens its back button follows. */
import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import { defineComponent, h } from 'vue';
import PagedList from '@/components/PagedList.vue';

const Table = defineComponent({ render: () => h('div', { class: 'table-wrap', 'data-testid': 'table' }) });

const base = {
  cursor: null as string | null,
  nextCursor: 'p2' as string | null,
  loaded: true,
  loading: false,
  error: null as string | null,
  count: 1,
  filters: ['x'] as unknown,
  labels: { back: 'Newer', forward: 'Older' },
  testIds: { error: 'err', empty: 'empty', back: 'back', forward: 'forward' },
};

function mountList(props: Partial<typeof base> = {}) {
  return mount(PagedList, {
    props: { ...base, ...props },
    slots: { empty: 'Nothing here.', default: ({ loading }: { loading: boolean }) => h(Table, { class: { loading } }) },
  });
}

describe('PagedList', () => {
  it('shows Loading… until loaded, the empty message for no items, the error, else the list', async () => {
    expect(mountList({ loaded: false }).text()).toContain('Loading…');
    const empty = mountList({ count: 0 });
    expect(empty.get('[data-testid="empty"]').text()).toBe('Nothing here.');
    expect(empty.find('[data-testid="table"]').exists()).toBe(false);
    const failed = mountList({ count: 0, error: 'boom' });
    expect(failed.get('[data-testid="err"]').text()).toBe('boom');
    expect(failed.find('[data-testid="empty"]').exists()).toBe(false);
    const list = mountList({ loading: true });
    expect(list.get('[data-testid="table"]').classes()).toContain('loading');
    expect(list.get('[data-testid="back"]').text()).toBe('← Newer');
    expect(list.get('[data-testid="forward"]').text()).toBe('Older →');
  });

  it('goes forward with the next token and back along the tokens it came through; new filters start a new trail', async () => {
    const list = mountList();
    expect(list.get('[data-testid="back"]').attributes('disabled')).toBeDefined();
    await list.get('[data-testid="forward"]').trigger('click');
    await list.setProps({ cursor: 'p2', nextCursor: 'p3' });
    await list.get('[data-testid="forward"]').trigger('click');
    await list.setProps({ cursor: 'p3', nextCursor: null });
    expect(list.get('[data-testid="forward"]').attributes('disabled')).toBeDefined();
    await list.get('[data-testid="back"]').trigger('click');
    await list.setProps({ cursor: 'p2', nextCursor: 'p3' });
    await list.get('[data-testid="back"]').trigger('click');
    expect(list.emitted('go')).toEqual([['p2'], ['p3'], ['p2'], [null]]);

    await list.setProps({ cursor: 'p2', nextCursor: 'p3' });
    await list.get('[data-testid="forward"]').trigger('click'); // trail: [p2]
    await list.setProps({ filters: ['y'], cursor: 'p3' });
    await list.get('[data-testid="back"]').trigger('click'); // the trail started again: the first page
    expect(list.emitted('go')!.slice(4)).toEqual([['p3'], [null]]);
  });

  it('without a trail (a reloaded page), back goes to the first page', async () => {
    const list = mountList({ cursor: 'p5' });
    await list.get('[data-testid="back"]').trigger('click');
    expect(list.emitted('go')).toEqual([[null]]);
  });
});
